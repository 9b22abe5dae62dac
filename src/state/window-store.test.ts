import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WindowStore } from './window-store.ts';

describe('WindowStore', () => {
  it('keeps scalar keys of different types apart and groups equal composite keys', () => {
    const store = new WindowStore<string>();
    store.set(store.entry(1), 0, 'number');
    store.set(store.entry('1'), 0, 'string');
    store.set(store.entry(['a', 1]), 0, 'list');
    assert.equal(store.find(1)?.windows.get(0), 'number');
    assert.equal(store.find('1')?.windows.get(0), 'string');
    assert.equal(store.find(['a', 1])?.windows.get(0), 'list');
    assert.equal(store.find(['a', 1])?.text, '["a",1]');
    assert.equal(store.size, 3);
  });

  it('forgets a key with its last window', () => {
    const store = new WindowStore<string>();
    const e = store.entry('k');
    store.set(e, 0, 'a');
    store.set(e, 10, 'b');
    store.delete(e, 0);
    assert.equal(store.byId(e.id), e);
    store.delete(e, 10);
    assert.equal(store.find('k'), undefined);
    assert.equal(store.byId(e.id), undefined);
    assert.equal(store.size, 0);
    const unused = store.entry('u');
    store.dropIfEmpty(unused);
    assert.equal(store.find('u'), undefined);
  });
});
