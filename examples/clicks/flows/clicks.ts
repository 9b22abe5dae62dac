import {
  afterCount,
  afterWatermark,
  boundedOutOfOrderness,
  count,
  type Dataset,
  fixed,
  flow,
  type Rel,
  read,
  write,
} from 'napkin';
import { clicks, lateClicks, liveClicks, livePageViews, livePanes, pageViews, panes } from '../datasets.ts';

/**
 * Views per page and minute of event time. The watermark trails the newest view by 5 s, so views up to 5 s out of
 * order are on time. Every 3 views a minute gets an EARLY pane, the watermark passing its end gives the ON_TIME pane,
 * and each view up to 5 minutes late gives a LATE pane; later ones are dropped and counted. Panes accumulate, so
 * each carries the minute's whole count so far. The views dropped as too late are written to their own dataset.
 */
function viewsPerMinute(source: Dataset): Rel {
  return read(source, { watermark: boundedOutOfOrderness('5s') })
    .window(fixed('1m'), {
      trigger: afterWatermark({ early: afterCount(3), late: afterCount(1) }),
      allowedLateness: '5m',
      accumulation: 'accumulating',
    })
    .groupBy('page')
    .agg({ views: count() })
    .stage('views_per_minute');
}

const perMinute = viewsPerMinute(clicks);

export const clicksFlow = flow({
  name: 'clicks',
  owner: 'web-team',
  sla: '1m',
  outputs: [
    write(pageViews, perMinute, { writeMode: 'merge' }),
    write(panes, perMinute),
    write(lateClicks, perMinute.lateRecords().stage('late_views')),
  ],
});

const livePerMinute = viewsPerMinute(liveClicks);

export const liveClicksFlow = flow({
  name: 'live_clicks',
  owner: 'web-team',
  sla: '1m',
  outputs: [write(livePageViews, livePerMinute, { writeMode: 'merge' }), write(livePanes, livePerMinute)],
});
