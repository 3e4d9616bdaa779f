import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateStore } from '../agent/state/store.ts';

describe('StateStore', () => {
  it('keeps the latest value per key and marks old values stale by prefix', () => {
    let now = 1000;
    const store = new StateStore({ sensors: 500, 'sensors.fast': 50 }, () => now);
    const changes: string[] = [];
    store.on('change', (key: string) => changes.push(key));
    store.set('sensors.temp', 20);
    store.set('sensors.temp', 21);
    store.set('sensors.fast.x', 1);
    store.set('robot.pose', { x: 0 });
    assert.equal(store.size, 3);
    assert.deepEqual(changes, ['sensors.temp', 'sensors.temp', 'sensors.fast.x', 'robot.pose']);
    now = 1100;
    assert.equal(store.get('sensors.temp')?.stale, undefined);
    assert.equal(store.get('sensors.fast.x')?.stale, true);
    now = 1600;
    assert.equal(store.get('sensors.temp')?.stale, true);
    assert.equal(store.get('sensors.temp')?.value, 21);
    assert.equal(store.get('robot.pose')?.stale, undefined, 'no staleness rule for robot.*');
    assert.deepEqual(Object.keys(store.snapshot()), ['robot.pose', 'sensors.fast.x', 'sensors.temp']);
  });
});
