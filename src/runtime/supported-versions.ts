/**
 * What the bundled onnxruntime-node accepts, so a model stamped for a newer runtime is named as such before
 * the runtime's own (long, C++-flavoured) error. test/runtime-supported-versions.test.ts checks these numbers
 * against the installed onnxruntime-node: bump them together with the dependency.
 */
import type { RuntimeSupport } from '../onnx/checks.js';

export const BUNDLED_RUNTIME: RuntimeSupport = {
  version: '1.30',
  /** Highest ModelProto.ir_version the runtime loads. */
  maxIrVersion: 13,
  /** Highest opset per domain the runtime guarantees; '' is the default ONNX domain (alias 'ai.onnx'). */
  maxOpset: {
    '': 26,
    'ai.onnx.ml': 5,
    'com.microsoft': 1,
  },
  /** Below this default-domain opset the runtime only loads with "legacy support" warnings. */
  minOpset: 7,
};
