import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { postgres } from '../../flow/storage.ts';
import { connectPg, pgFailure, redact } from './connection.ts';

const URL_WITH_PASSWORD = 'postgres://napkin:s3cr%40t-canary@db.internal:5432/prod';

describe('PostgreSQL connections are given by reference', () => {
  it('postgres() storage takes env:NAME only and never echoes what it was given instead', () => {
    assert.deepEqual(postgres({ table: 'mart.orders', connection: 'env:NAPKIN_PG_URL' }), {
      kind: 'postgres',
      table: 'mart.orders',
      connection: 'env:NAPKIN_PG_URL',
    });
    for (const connection of [URL_WITH_PASSWORD, 'env:', 'env:A B', 'file:/etc/passwd', '']) {
      assert.throws(
        () => postgres({ table: 'mart.orders', connection }),
        (e: Error) => {
          assert.match(e.message, /connection must be a reference such as 'env:NAPKIN_PG_URL'/);
          assert.ok(!e.message.includes('s3cr') && !e.message.includes('/etc/passwd'), e.message);
          return true;
        },
      );
    }
  });

  it('connecting resolves the variable then, and names only the reference when it is missing', () => {
    delete process.env.NAPKIN_TEST_MISSING_URL;
    assert.throws(
      () => connectPg('env:NAPKIN_TEST_MISSING_URL'),
      /^Error: postgres connection env:NAPKIN_TEST_MISSING_URL: environment variable NAPKIN_TEST_MISSING_URL is not set/,
    );
    assert.throws(
      () => connectPg(URL_WITH_PASSWORD),
      (e: Error) => !e.message.includes('s3cr'),
    );
  });

  it('driver messages lose the URL and the password, plain or URL-encoded', async () => {
    process.env.NAPKIN_TEST_CANARY_URL = URL_WITH_PASSWORD;
    const conn = connectPg('env:NAPKIN_TEST_CANARY_URL');
    try {
      const driver = new Error(`could not connect to ${URL_WITH_PASSWORD} (password s3cr@t-canary)\nsecond line`);
      const e = pgFailure('postgres sink t', Object.assign(driver, { code: 'ECONNREFUSED' }), conn);
      assert.equal(
        e.message,
        'postgres sink t: could not connect to *** (password ***) [ECONNREFUSED]; check that the server in env:NAPKIN_TEST_CANARY_URL is up and reachable',
      );
      assert.equal(redact('a s3cr%40t-canary b', conn.secrets), 'a *** b');
    } finally {
      await conn.sql.end();
      delete process.env.NAPKIN_TEST_CANARY_URL;
    }
  });
});
