import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluate, parseStatePayload, renderPayload } from '../../drivers/mqtt/template.ts';

describe('MQTT payload templates', () => {
  it('renders typed values, filters and string interpolation', () => {
    const z2m = { state: 'ON', brightness: '{{brightness_pct | scale(0,100,0,254) | round}}' };
    assert.equal(renderPayload(z2m, { brightness_pct: 30 }), '{"state":"ON","brightness":76}');
    assert.equal(renderPayload('{{on | onoff}}', { on: true }), 'ON');
    assert.equal(renderPayload('Dimmer {{level}}', { level: 40 }), 'Dimmer 40');
    assert.equal(
      renderPayload(
        { color: { r: '{{color.r}}', g: '{{color.g}}', b: '{{color.b}}' } },
        { color: { r: 1, g: 2, b: 3 } },
      ),
      '{"color":{"r":1,"g":2,"b":3}}',
    );
  });

  it('drops object fields whose param is absent, and refuses when nothing is left', () => {
    const set = { brightness: '{{brightness_pct}}', color: { r: '{{color.r}}' } };
    assert.equal(renderPayload(set, { color: { r: 9 } }), '{"color":{"r":9}}');
    assert.throws(() => renderPayload(set, {}), /needs brightness_pct or color\.r/);
    assert.throws(() => renderPayload('POWER {{level}}', {}), /needs level/);
    assert.throws(() => renderPayload('{{x | explode}}', { x: 1 }), /unknown filter "explode"/);
  });

  it('reads state from JSON and raw payloads', () => {
    const json = parseStatePayload(Buffer.from('{"state":"ON","brightness":254}'));
    assert.equal(evaluate("state | eq('ON')", json), true);
    assert.equal(evaluate('brightness | scale(0,254,0,100) | round', json), 100);
    assert.equal(evaluate('missing', json), undefined);
    const raw = parseStatePayload(Buffer.from('OFF'));
    assert.equal(evaluate(". | eq('ON')", raw), false);
  });
});
