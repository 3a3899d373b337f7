import * as tf from '@tensorflow/tfjs';

/**
 * TensorFlow's fused kernels that tfjs does not expose, called through the tfjs-node backend's
 * eager op executor: the reset-before GRU cell and its gradient (`GRUBlockCell`,
 * `GRUBlockCellGrad`) and sparse softmax cross-entropy (`SparseSoftmaxCrossEntropyWithLogits`,
 * which returns the gradient with the loss). One kernel call replaces a dozen tfjs ops forward and
 * about thirty backward, and the per-op cost of tfjs-node (a JS → C++ call, a tensor handle) is
 * what bounds these small models. Only on the `tensorflow` backend; `fusedKernels()` is null
 * elsewhere (WASM), and callers keep their tfjs-ops path for it.
 */
export interface FusedKernels {
  /** GRUBlockCell: outputs r, u, c, h for x [B, E], h [B, H], w_ru [E+H, 2H], w_c [E+H, H], b_ru [2H], b_c [H]. */
  gruCell(x: tf.Tensor, h: tf.Tensor, wru: tf.Tensor, wc: tf.Tensor, bru: tf.Tensor, bc: tf.Tensor): tf.Tensor[];
  /** GRUBlockCellGrad: outputs d_x, d_h_prev, d_c_bar, d_r_bar_u_bar. */
  gruCellGrad(
    x: tf.Tensor,
    h: tf.Tensor,
    wru: tf.Tensor,
    wc: tf.Tensor,
    bru: tf.Tensor,
    bc: tf.Tensor,
    r: tf.Tensor,
    u: tf.Tensor,
    c: tf.Tensor,
    dh: tf.Tensor,
  ): tf.Tensor[];
  /** Per-row loss [B] and its gradient [B, C] for logits [B, C] and int32 labels [B]. */
  sparseSoftmaxCrossEntropy(logits: tf.Tensor, labels: tf.Tensor): [tf.Tensor, tf.Tensor];
}

interface OpAttr {
  name: string;
  type: number;
  value: number;
}
/** The parts of tfjs-node's NodeJSKernelBackend used here. */
interface NodeKernelBackend {
  binding: { TF_ATTR_TYPE: number; TF_FLOAT: number; TF_INT32: number };
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: tf.Tensor[], outputs: number): tf.Tensor[];
}

let cached: FusedKernels | null | undefined;

/** The fused kernels when the active backend is tfjs-node, else null. */
export function fusedKernels(): FusedKernels | null {
  if (tf.getBackend() !== 'tensorflow') return null;
  if (cached !== undefined) return cached;
  const backend = tf.backend() as unknown as Partial<NodeKernelBackend>;
  const binding = backend.binding;
  if (!binding || typeof backend.executeMultipleOutputs !== 'function') return (cached = null);
  const exec = backend.executeMultipleOutputs.bind(backend);
  const type = (name: string, value: number): OpAttr => ({ name, type: binding.TF_ATTR_TYPE, value });
  const f32 = [type('T', binding.TF_FLOAT)];
  const sce = [type('T', binding.TF_FLOAT), type('Tlabels', binding.TF_INT32)];
  cached = {
    gruCell: (x, h, wru, wc, bru, bc) => exec('GRUBlockCell', f32, [x, h, wru, wc, bru, bc], 4),
    gruCellGrad: (x, h, wru, wc, bru, bc, r, u, c, dh) =>
      exec('GRUBlockCellGrad', f32, [x, h, wru, wc, bru, bc, r, u, c, dh], 4),
    sparseSoftmaxCrossEntropy: (logits, labels) =>
      exec('SparseSoftmaxCrossEntropyWithLogits', sce, [logits, labels], 2) as [tf.Tensor, tf.Tensor],
  };
  return cached;
}

/**
 * Mean softmax cross-entropy of `logits` [B, C] against int32 class indices `labels` [B], with
 * its gradient: TensorFlow's fused kernel on tfjs-node, tfjs ops elsewhere.
 */
export function sparseSoftmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const k = fusedKernels();
  if (!k) return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits.shape[1]), logits) as tf.Scalar;
  const rows = logits.shape[0];
  const forward = (x: tf.Tensor, save: tf.GradSaveFunc) => {
    const [perRow, backprop] = k.sparseSoftmaxCrossEntropy(x, labels);
    save([backprop]);
    return {
      value: tf.mean(perRow),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(saved[0]!, tf.div(dy, rows)),
    };
  };
  return tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0])(logits) as tf.Scalar;
}
