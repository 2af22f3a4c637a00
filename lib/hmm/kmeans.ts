import type { Observations } from './model';
import type { Rng } from './prng';

const MAX_LLOYD_ITERATIONS = 100;

/**
 * k-means++ seeding then Lloyd's iterations on standardised features (each feature
 * centred and divided by its standard deviation), so a feature in the hundreds such as
 * a price does not drown one near 1e-3 such as a return. Returns each point's cluster.
 * Ties go to the lower cluster index, so the result depends on the seed alone.
 */
export function kmeans(obs: Observations, k: number, rng: Rng): Int32Array {
  const { n, d } = obs;
  const z = standardise(obs);
  const centers = new Float64Array(k * d);
  const dist = new Float64Array(n);
  const labels = new Int32Array(n);

  const first = rng.int(n);
  for (let j = 0; j < d; j++) centers[j] = z[first * d + j];
  for (let t = 0; t < n; t++) dist[t] = sqDist(z, t, centers, 0, d);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let t = 0; t < n; t++) total += dist[t];
    // Validation guarantees k distinct points, so total > 0 until k centres are chosen.
    let r = rng.next() * total;
    let pick = n - 1;
    for (let t = 0; t < n; t++) {
      r -= dist[t];
      if (r < 0 && dist[t] > 0) {
        pick = t;
        break;
      }
    }
    for (let j = 0; j < d; j++) centers[c * d + j] = z[pick * d + j];
    for (let t = 0; t < n; t++) {
      const v = sqDist(z, t, centers, c * d, d);
      if (v < dist[t]) dist[t] = v;
    }
  }

  const sums = new Float64Array(k * d);
  const counts = new Int32Array(k);
  for (let it = 0; it < MAX_LLOYD_ITERATIONS; it++) {
    let changed = it === 0;
    for (let t = 0; t < n; t++) {
      let best = 0;
      let bestD = sqDist(z, t, centers, 0, d);
      for (let c = 1; c < k; c++) {
        const v = sqDist(z, t, centers, c * d, d);
        if (v < bestD) {
          bestD = v;
          best = c;
        }
      }
      dist[t] = bestD;
      if (labels[t] !== best) changed = true;
      labels[t] = best;
    }
    if (!changed) break;
    sums.fill(0);
    counts.fill(0);
    for (let t = 0; t < n; t++) {
      const c = labels[t];
      counts[c]++;
      for (let j = 0; j < d; j++) sums[c * d + j] += z[t * d + j];
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) {
        // An empty cluster takes the point farthest from its own centre.
        let far = 0;
        for (let t = 1; t < n; t++) if (dist[t] > dist[far]) far = t;
        for (let j = 0; j < d; j++) centers[c * d + j] = z[far * d + j];
        dist[far] = 0;
      } else {
        for (let j = 0; j < d; j++) centers[c * d + j] = sums[c * d + j] / counts[c];
      }
    }
  }
  return labels;
}

function standardise(obs: Observations): Float64Array {
  const { n, d, data } = obs;
  const z = new Float64Array(n * d);
  for (let j = 0; j < d; j++) {
    let mean = 0;
    for (let t = 0; t < n; t++) mean += data[t * d + j];
    mean /= n;
    let v = 0;
    for (let t = 0; t < n; t++) v += (data[t * d + j] - mean) ** 2;
    const sd = Math.sqrt(v / n) || 1;
    for (let t = 0; t < n; t++) z[t * d + j] = (data[t * d + j] - mean) / sd;
  }
  return z;
}

function sqDist(z: Float64Array, t: number, centers: Float64Array, co: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const v = z[t * d + j] - centers[co + j];
    s += v * v;
  }
  return s;
}
