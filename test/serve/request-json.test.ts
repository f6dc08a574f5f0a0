/**
 * The inference request reader must give exactly what JSON.parse (then a Float32Array or Float64Array)
 * gives, bit for bit, and leave anything unusual to JSON.parse.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeRuns,
  FastPathMiss,
  hasRuns,
  readRequestJson,
  runsCount,
  runsToJson,
} from '../../src/serve/request-json.js';

/** A seeded generator, so a failure names a case that can be run again. */
function random(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/** Number texts of every shape JSON allows, including the ones that defeat a fast path. */
function numberTexts(count: number, seed: number): string[] {
  const r = random(seed);
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');
  const out: string[] = [];
  const f32 = new Float32Array(1);
  for (let i = 0; i < count; i++) {
    const sign = r() < 0.4 ? '-' : '';
    switch (i % 9) {
      case 0: // a float32 printed as a double, as clients serialize float32 arrays
        f32[0] = (r() - 0.5) * 10 ** Math.floor(r() * 12 - 6);
        out.push(String(f32[0]));
        break;
      case 1:
        out.push(`${sign}${Math.floor(r() * 1e6)}`);
        break;
      case 2:
        out.push(`${sign}0.${digits(1 + Math.floor(r() * 22))}`);
        break;
      case 3:
        out.push(`${sign}${1 + Math.floor(r() * 9)}${digits(Math.floor(r() * 25))}`);
        break;
      case 4:
        out.push(
          `${sign}${1 + Math.floor(r() * 9)}.${digits(1 + Math.floor(r() * 20))}e${r() < 0.5 ? '-' : r() < 0.5 ? '+' : ''}${Math.floor(r() * 45)}`,
        );
        break;
      case 5: // halfway between two float32 values, written with more digits than a double holds
        f32[0] = r() * 100;
        {
          const a = f32[0];
          const bits = new Uint32Array(f32.buffer);
          bits[0]++;
          const mid = (a + f32[0]) / 2;
          out.push(mid.toPrecision(21).replace(/0+$/, '').replace(/\.$/, ''));
        }
        break;
      case 6:
        out.push(
          [
            '0',
            '-0',
            '0.0',
            '-0.0e5',
            '1e-400',
            '1e400',
            '-1e400',
            '5e-324',
            '1.7976931348623157e308',
            '3.4028235677973366e38',
            '1.401298464324817e-45',
            '7e-46',
          ][Math.floor(r() * 12)],
        );
        break;
      case 7:
        out.push(`${sign}${digits(1).replace('0', '7')}E${Math.floor(r() * 30) - 15}`);
        break;
      default:
        out.push(`${sign}${1 + Math.floor(r() * 9)}${digits(Math.floor(r() * 6))}.${digits(1 + Math.floor(r() * 17))}`);
    }
  }
  return out;
}

const bitsOf = (a: Float32Array | Float64Array) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

describe('numbers in data', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`decodes 5000 numbers exactly as JSON.parse does (seed ${seed})`, () => {
      const texts = numberTexts(5000, seed);
      const body = Buffer.from(
        `{"inputs":[{"name":"x","datatype":"FP32","shape":[${texts.length}],"data":[ ${texts.join(' ,\n')} ]}]}`,
      );
      const tree = readRequestJson(body, body.length) as { inputs: Array<{ data: unknown }> };
      const data = tree.inputs[0].data;
      expect(hasRuns(data)).toBe(true);
      const reference = JSON.parse(body.toString()).inputs[0].data as number[];
      const f32 = new Float32Array(texts.length);
      decodeRuns(data, f32);
      const expected32 = Float32Array.from(reference);
      const f64 = new Float64Array(texts.length);
      decodeRuns(data, f64);
      const expected64 = Float64Array.from(reference);
      for (let i = 0; i < texts.length; i++) {
        if (!Object.is(f32[i], expected32[i]) || !Object.is(f64[i], expected64[i])) {
          throw new Error(`${texts[i]}: float32 ${f32[i]} vs ${expected32[i]}, float64 ${f64[i]} vs ${expected64[i]}`);
        }
      }
      expect(bitsOf(f32)).toEqual(bitsOf(expected32));
      expect(bitsOf(f64)).toEqual(bitsOf(expected64));
      expect(runsToJson(data)).toEqual(reference);
    });
  }

  it('keeps nesting, and checks it against the shape', () => {
    const body = Buffer.from('{"inputs":[{"data":[[1,2,3],[4.5,-6,7e1]],"name":"x"}]}');
    const data = (readRequestJson(body, body.length) as { inputs: Array<{ data: unknown }> }).inputs[0].data;
    expect(runsCount(data, [2, 3])).toBe(6);
    expect(runsCount(data, [3, 2])).toBe(-1);
    expect(runsCount(data, [1, 2, 3])).toBe(-1);
    const out = new Float32Array(6);
    decodeRuns(data, out);
    expect([...out]).toEqual([1, 2, 3, 4.5, -6, 70]);
  });
});

describe('structure', () => {
  const same = (text: string) => {
    const body = Buffer.from(text);
    const fast = readRequestJson(body, body.length) as Record<string, unknown>;
    const inputs = fast.inputs;
    if (Array.isArray(inputs))
      for (const input of inputs)
        if (input && typeof input === 'object' && 'data' in input) input.data = runsToJson(input.data);
    expect(fast).toEqual(JSON.parse(text));
  };

  it.each([
    '{}',
    ' { "id" : "a\\"b\\\\c\\u00e9\\n" , "inputs" : [ ] } ',
    '{"inputs":[{"name":"ünï","shape":[1,2],"datatype":"BYTES","data":["a","b\\u0000"]}]}',
    '{"inputs":[{"name":"b","data":[true,false,null]}],"parameters":{"x":[1,2,{"y":-0.5e-3}],"z":null}}',
    '{"inputs":[{"name":"e","data":[]}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}',
    '{"a":1,"a":2,"inputs":{"data":[1,2]}}',
    '{"inputs":[{"data":[[[1],[2]],[[3],[4]]]}]}',
    '{"inputs":[{"data":"text"},{"data":{"nested":[1]}},{"data":7}]}',
  ])('reads %s as JSON.parse does', (text) => same(text));

  it.each([
    ['', 'empty'],
    ['{"inputs": [', 'unclosed'],
    ['{"a":01}', 'leading zero'],
    ['{"inputs":[{"data":[1.]}]}', 'bare decimal point'],
    ['{"inputs":[{"data":[.5]}]}', 'no integer part'],
    ['{"inputs":[{"data":[+1]}]}', 'plus sign'],
    ['{"inputs":[{"data":[1e]}]}', 'empty exponent'],
    ['{"inputs":[{"data":[1,]}]}', 'trailing comma'],
    ['{"inputs":[{"data":[1,"2"]}]}', 'numbers mixed with strings'],
    ['{"inputs":[{"data":[1,NaN]}]}', 'NaN'],
    ['{"a":"tab\there"}', 'control character in a string'],
    ['{"__proto__":{"x":1}}', '__proto__ key'],
    ['{"a":1} x', 'trailing text'],
    ['\ufeff{}', 'byte order mark'],
    ["{'a':1}", 'single quotes'],
  ])('leaves %j (%s) to JSON.parse', (text) => {
    const body = Buffer.from(text);
    expect(() => readRequestJson(body, body.length)).toThrow(FastPathMiss);
  });

  it('reads only the header part of a binary request', () => {
    const header = Buffer.from('{"inputs":[{"name":"x","data":[12]}]}');
    const body = Buffer.concat([header, Buffer.from('34]}')]);
    const data = (readRequestJson(body, header.length) as { inputs: Array<{ data: unknown }> }).inputs[0].data;
    expect(runsToJson(data)).toEqual([12]);
    const cut = Buffer.concat([header.subarray(0, header.length - 4), Buffer.from('3]}]}')]);
    expect(() => readRequestJson(cut, header.length - 4)).toThrow(FastPathMiss);
    const literal = Buffer.from('{"a":tr' + 'ue}');
    expect(() => readRequestJson(literal, 7)).toThrow(FastPathMiss);
  });
});
