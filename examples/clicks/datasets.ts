import { contract, dataset, duckdb, jsonl, t } from 'napkin';

const pageView = contract({
  key: ['event_id'],
  eventTime: 'at',
  fields: {
    event_id: t.string(),
    page: t.string(),
    user_id: t.string(),
    at: t.timestamp().describe('when the page was viewed, on the device'),
  },
});

/**
 * Page views as the collector delivers them, one file per delivery in arrival order. Each file is one batch, so the
 * watermark moves between files exactly as it would between polls of a live stream, and every run is the same.
 */
export const clicks = dataset('web.clicks', {
  owner: 'web-team',
  description: 'Page views, one JSON Lines file per collector delivery',
  storage: jsonl('data/clicks/*.jsonl'),
  contract: pageView,
});

/** The same events as a live stream: a file the collector appends to, tailed until 3 s pass without a new line. */
export const liveClicks = dataset('web.live_clicks', {
  owner: 'web-team',
  description: 'Page views appended live by the collector',
  storage: jsonl('data/live.jsonl', { follow: true, pollInterval: '100ms', stopAfterIdle: '3s' }),
  contract: pageView,
});

const paneFields = {
  page: t.string(),
  window_start: t.timestamp(),
  window_end: t.timestamp(),
  views: t.int64(),
  pane_timing: t.enum('pane_timing', ['EARLY', 'ON_TIME', 'LATE']),
  pane_index: t.int64(),
  pane_is_last: t.bool(),
  event_time: t.timestamp(),
};

/** Views per page and minute: each pane replaces the earlier panes of its (page, minute), so the table holds the latest. */
export const pageViews = dataset('web.page_views', {
  owner: 'web-team',
  description: 'Views per page and minute (latest pane)',
  storage: duckdb('web.page_views'),
  contract: contract({ key: ['page', 'window_start'], fields: paneFields }),
});

/** Every pane, in the order they fired: EARLY, ON_TIME and LATE results of each (page, minute). */
export const panes = dataset('web.page_view_panes', {
  owner: 'web-team',
  description: 'Every pane of the views per page and minute, in firing order',
  storage: jsonl('out/panes.jsonl'),
  contract: contract({ fields: paneFields }),
});

export const livePageViews = dataset('web.live_page_views', {
  owner: 'web-team',
  description: 'Views per page and minute from the live stream (latest pane)',
  storage: duckdb('web.live_page_views'),
  contract: contract({ key: ['page', 'window_start'], fields: paneFields }),
});

export const livePanes = dataset('web.live_page_view_panes', {
  owner: 'web-team',
  description: 'Every pane of the live stream, in firing order',
  storage: jsonl('out/live-panes.jsonl'),
  contract: contract({ fields: paneFields }),
});

/** Views the minute windows dropped as too late (more than 5 minutes after the minute's end), kept for inspection. */
export const lateClicks = dataset('web.late_clicks', {
  owner: 'web-team',
  description: 'Page views that arrived after their minute was closed, with the window they missed and why',
  storage: jsonl('out/late-clicks.jsonl'),
  contract: contract({
    fields: {
      event_id: t.string(),
      page: t.string(),
      user_id: t.string(),
      at: t.timestamp(),
      window_start: t.timestamp(),
      window_end: t.timestamp(),
      drop_reason: t.enum('drop_reason', ['late', 'closed']),
    },
  }),
});
