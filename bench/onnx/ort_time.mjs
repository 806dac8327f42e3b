// Model-only timings of the exported CLIP towers in onnxruntime (CPU), and their outputs for the correctness check.
//   node ort_time.mjs DIR PIXELS.f32 ITERATIONS THREADS IDS...
// DIR holds image.onnx and text.onnx; each IDS is a comma-separated token list. Prints one JSON object: per case
// the median and best milliseconds of ITERATIONS runs after two warm-ups, and the embedding.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';

const [dir, pixelsPath, iterationsArg, threadsArg, ...idLists] = process.argv.slice(2);
const iterations = Number(iterationsArg);
const options = {
  intraOpNumThreads: Number(threadsArg),
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

async function time(model, feeds) {
  let output;
  for (let i = 0; i < 2; ++i) output = await model.run(feeds);
  const ms = [];
  for (let i = 0; i < iterations; ++i) {
    const start = performance.now();
    output = await model.run(feeds);
    ms.push(performance.now() - start);
  }
  ms.sort((a, b) => a - b);
  return { median_ms: ms[Math.floor(ms.length / 2)], best_ms: ms[0], embedding: Array.from(output.embedding.data) };
}

const image = await ort.InferenceSession.create(`${dir}/image.onnx`, options);
const text = await ort.InferenceSession.create(`${dir}/text.onnx`, options);
const buffer = readFileSync(pixelsPath);
const pixels = new Float32Array(buffer.buffer, buffer.byteOffset, buffer.byteLength / 4);
const size = Math.round(Math.sqrt(pixels.length / 3));
const result = { onnxruntime: ort.env.versions?.common ?? 'unknown', threads: Number(threadsArg), texts: [] };
result.image = await time(image, { pixels: new ort.Tensor('float32', pixels, [1, 3, size, size]) });
for (const list of idLists) {
  const ids = BigInt64Array.from(list.split(',').map((v) => BigInt(v)));
  const timed = await time(text, { ids: new ort.Tensor('int64', ids, [1, ids.length]) });
  result.texts.push({ tokens: ids.length, ...timed });
}
console.log(JSON.stringify(result));
