import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentile } from './bench/harness.ts';

describe('bench harness', () => {
  it('computes nearest-rank percentiles', () => {
    const sample = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
    assert.equal(percentile(sample, 50), 5);
    assert.equal(percentile(sample, 90), 9);
    assert.equal(percentile(sample, 99), 10);
    assert.equal(percentile([42], 99), 42);
    assert.ok(Number.isNaN(percentile([], 50)));
  });
});
