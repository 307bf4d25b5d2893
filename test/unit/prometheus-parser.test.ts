// The strict Prometheus text parser the --metrics tests check the exposition with (test/support/prometheus.ts).
import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from '../support/prometheus.js';

const GOOD = `# HELP a_total Things, with a \\\\ and a \\n.
# TYPE a_total counter
a_total{x="1",y="q\\"uote\\\\"} 3
a_total{x="2"} 0
# TYPE h_seconds histogram
h_seconds_bucket{le="0.1"} 1
h_seconds_bucket{le="1"} 2
h_seconds_bucket{le="+Inf"} 2
h_seconds_sum 0.6
h_seconds_count 2
# TYPE g gauge
g 1.5e3 1700000000000
`;

describe('parsePrometheusText', () => {
  it('reads families, escapes, histograms and values', () => {
    const families = parsePrometheusText(GOOD);
    expect([...families.keys()]).toEqual(['a_total', 'h_seconds', 'g']);
    expect(families.get('a_total')!.help).toBe('Things, with a \\ and a \n.');
    expect(sampleValue(families, 'a_total', { y: 'q"uote\\' })).toBe(3);
    expect(sampleValue(families, 'h_seconds_count')).toBe(2);
    expect(sampleValue(families, 'g')).toBe(1500);
  });

  it.each([
    ['no final line feed', 'a 1'],
    ['a bad name', '1a 1\n'],
    ['a bad value', 'a one\n'],
    ['a value Go cannot parse', 'a NaNa\n'],
    ['a bad escape', 'a{x="\\t"} 1\n'],
    ['an unterminated label', 'a{x="1} 1\n'],
    ['a label twice', 'a{x="1",x="2"} 1\n'],
    ['a sample twice', 'a{x="1"} 1\na{x="1"} 2\n'],
    ['a split family', 'a 1\nb 1\na{x="2"} 1\n'],
    ['a TYPE after samples', 'a 1\n# TYPE a gauge\n'],
    ['a negative counter', '# TYPE a_total counter\na_total -1\n'],
    ['buckets not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['+Inf not _count', '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n'],
    ['no +Inf bucket', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
  ])('refuses %s', (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });
});
