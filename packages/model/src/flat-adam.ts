import * as tf from '@tensorflow/tfjs';

/**
 * Adam (Kingma & Ba) in the form of TensorFlow's Adam kernels and Keras:
 * w ← w − lr · √(1 − β2ᵗ) / (1 − β1ᵗ) · m / (√v + ε) — tfjs' `tf.train.adam` adds ε to √v̂ instead,
 * which moves weights with tiny gradients (rare items' embeddings) differently; with this form a
 * skiff model and its Keras twin train alike (bench/train). Over all the model's weights at once: the gradients are flattened
 * into one vector, the moments are one vector each, and the update is a handful of ops on it,
 * split back per weight. tfjs' optimizer runs ~14 kernels per weight; a SASRec has ~30 weights, and
 * on tfjs-node every kernel call costs about as much as the arithmetic of these small weights.
 * The bias corrections are computed in double precision in JS.
 */
export class FlatAdam {
  private m: tf.Tensor1D;
  private v: tf.Tensor1D;
  private step = 0;
  private readonly sizes: number[];

  constructor(
    private readonly vars: readonly tf.Variable[],
    private readonly learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-7,
  ) {
    this.sizes = vars.map((v) => v.size);
    const total = this.sizes.reduce((a, b) => a + b, 0);
    this.m = tf.keep(tf.zeros([total]));
    this.v = tf.keep(tf.zeros([total]));
  }

  /** One update step on the gradients of `loss` (a scalar); returns the loss value (caller disposes it). */
  minimize(loss: () => tf.Scalar): tf.Scalar {
    const { value, grads } = tf.variableGrads(loss, this.vars as tf.Variable[]);
    this.step++;
    const c1 = 1 - this.beta1 ** this.step;
    const c2 = 1 - this.beta2 ** this.step;
    tf.tidy(() => {
      // A weight with no path to this loss has no entry in grads: it counts as a zero gradient (its
      // moments still decay) rather than failing the step.
      const gradOf = (x: tf.Variable) => grads[x.name] ?? tf.zerosLike(x);
      const g = tf.concat(this.vars.map((x) => (x.rank === 1 ? gradOf(x) : tf.reshape(gradOf(x), [-1]))));
      const m = tf.add(tf.mul(this.m, this.beta1), tf.mul(g, 1 - this.beta1));
      const v = tf.add(tf.mul(this.v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
      const delta = tf.mul(tf.div(m, tf.add(tf.sqrt(v), this.epsilon)), (-this.learningRate * Math.sqrt(c2)) / c1);
      const parts = tf.split(delta, this.sizes);
      this.vars.forEach((x, i) => x.assign(tf.add(x.rank === 1 ? parts[i]! : tf.reshape(parts[i]!, x.shape), x)));
      this.m.dispose();
      this.v.dispose();
      this.m = tf.keep(m as tf.Tensor1D);
      this.v = tf.keep(v as tf.Tensor1D);
    });
    tf.dispose(Object.values(grads));
    return value;
  }

  dispose(): void {
    tf.dispose([this.m, this.v]);
  }
}
