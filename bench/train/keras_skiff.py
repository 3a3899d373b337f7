"""skiff's neural models written in Keras, for bench/train/run.mjs: the same shapes, initial
weights, examples, example order, loss and optimizer as skiff's trainer on the same data file, so
the losses per epoch must agree (run.mjs checks them) and samples/s compare the runtimes.

usage: <python with tensorflow> bench/train/keras_skiff.py <gru4rec|sasrec> <data.json> [epochs]

- gru4rec: Embedding(items + 1, E, mask_zero) -> GRU(H, reset_after=False: skiff's reset-before
  cell, gates z|r|n in both) -> Dense(items) logits.
- sasrec: item + position embedding -> `blocks` pre-LayerNorm causal self-attention blocks (the
  last one computes its query, attention and feed-forward for the last position only, as skiff
  does) -> LayerNorm -> Dense(items) logits; written with keras.ops like skiff's tfjs ops.
Both: full softmax over the items (skiff with negatives >= items), sparse cross-entropy from
logits, Adam (epsilon 1e-7, tfjs' default) on dense embedding gradients (DenseGradEmbedding), batches in skiff's per-epoch order (shuffle=False),
left padding with id 0. Keras 3 on a CPU-only machine resolves jit_compile="auto" to False.
Prints one JSON line.
"""
import json
import math
import os
import sys
import time

os.environ.setdefault('KERAS_BACKEND', 'tensorflow')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import ops  # noqa: E402


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []
        self.cpu_seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.t = time.perf_counter()
        self.cpu = time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.t)
        # CPU seconds of every thread of the process (TensorFlow's included), as skiff_trainer.mjs counts.
        self.cpu_seconds.append(time.process_time() - self.cpu)


class DenseGradEmbedding(keras.layers.Embedding):
    """Embedding whose gradient is a dense table (tf.math.unsorted_segment_sum), as tfjs computes it.

    Keras' Adam squares an IndexedSlices gradient slice by slice, before duplicate rows are summed
    (so v gets the sum of squares, not the square of the sum, for an item that occurs several times
    in a batch); with the dense gradient both runtimes optimise the same function with the same Adam.
    """

    def call(self, inputs):
        rows, width = self.embeddings.shape

        @tf.custom_gradient
        def lookup(table):
            def grad(dy):
                return tf.math.unsorted_segment_sum(tf.reshape(dy, (-1, width)), tf.reshape(inputs, (-1,)), rows)

            return tf.gather(table, inputs), grad

        return lookup(tf.convert_to_tensor(self.embeddings.value))


def gru4rec(p, items, w):
    ids = keras.Input((p['maxLen'],), dtype='int32')
    emb = DenseGradEmbedding(items + 1, p['embeddingDim'], mask_zero=True)
    gru = keras.layers.GRU(p['hiddenUnits'], reset_after=False)
    out = keras.layers.Dense(items)
    model = keras.Model(ids, out(gru(emb(ids))))
    emb.set_weights([w['itemEmb']])
    gru.set_weights([w['W'], w['U'], w['b']])
    out.set_weights([w['outEmb'][1:].T, w['outBias'][1:]])
    return model


class SasRec(keras.Model):
    def __init__(self, p, items, w):
        super().__init__()
        self.d = p['embeddingDim']
        self.heads = p.get('heads', 1)
        self.blocks = p.get('blocks', 2)
        self.max_len = p['maxLen']
        self.item_emb = DenseGradEmbedding(items + 1, self.d)
        self.pos_emb = self.add_weight(shape=(self.max_len, self.d), name='posEmb')
        dense = lambda units, bias: keras.layers.Dense(units, use_bias=bias)  # noqa: E731
        self.layers_ = []
        for _ in range(self.blocks):
            self.layers_.append({
                'ln1': keras.layers.LayerNormalization(epsilon=1e-6),
                'Wq': dense(self.d, False), 'Wk': dense(self.d, False), 'Wv': dense(self.d, False),
                'Wo': dense(self.d, False),
                'ln2': keras.layers.LayerNormalization(epsilon=1e-6),
                'W1': dense(p['hiddenUnits'], True), 'W2': dense(self.d, True),
            })
        self.ln_f = keras.layers.LayerNormalization(epsilon=1e-6)
        self.out = keras.layers.Dense(items)
        self.build((None, self.max_len))
        self.item_emb.set_weights([w['itemEmb']])
        self.pos_emb.assign(w['posEmb'])
        for l, b in enumerate(self.layers_):
            g = lambda n: w[f'block{l}_{n}']  # noqa: E731
            b['ln1'].set_weights([g('ln1g'), g('ln1b')])
            for n in ('Wq', 'Wk', 'Wv', 'Wo'):
                b[n].set_weights([g(n)])
            b['ln2'].set_weights([g('ln2g'), g('ln2b')])
            b['W1'].set_weights([g('W1'), g('b1')])
            b['W2'].set_weights([g('W2'), g('b2')])
        self.ln_f.set_weights([w['lnFg'], w['lnFb']])
        self.out.set_weights([w['outEmb'][1:].T, w['outBias'][1:]])

    def build(self, input_shape):
        d = self.d
        self.item_emb.build(input_shape)
        for b in self.layers_:
            b['ln1'].build((None, None, d))
            for n in ('Wq', 'Wk', 'Wv', 'Wo'):
                b[n].build((None, None, d))
            b['ln2'].build((None, None, d))
            b['W1'].build((None, None, d))
            b['W2'].build((None, None, b['W1'].units))
        self.ln_f.build((None, d))
        self.out.build((None, d))
        self.built = True

    def split_heads(self, x, steps):
        dh = self.d // self.heads
        x = ops.reshape(x, (-1, steps, self.heads, dh))
        return ops.reshape(ops.transpose(x, (0, 2, 1, 3)), (-1, steps, dh))

    def call(self, ids):
        steps = ids.shape[1]
        d, heads = self.d, self.heads
        dh = d // heads
        mask = ops.cast(ops.not_equal(ids, 0), 'float32')  # [B, L]
        keep = ops.expand_dims(mask, 2)
        x = (self.item_emb(ids) + self.pos_emb[self.max_len - steps:]) * keep
        key_ok = ops.reshape(mask, (-1, 1, 1, steps))
        last_mask = (1.0 - key_ok) * -1e9
        causal = ops.reshape(ops.tril(ops.ones((steps, steps))), (1, 1, steps, steps))
        full_mask = (1.0 - causal * key_ok) * -1e9
        for l, b in enumerate(self.layers_):
            last = l == self.blocks - 1
            q = 1 if last else steps
            y = b['ln1'](x)
            yq = y[:, steps - 1:, :] if last else y
            Q = self.split_heads(b['Wq'](yq), q)
            K = self.split_heads(b['Wk'](y), steps)
            V = self.split_heads(b['Wv'](y), steps)
            logits = ops.reshape(ops.matmul(Q, ops.transpose(K, (0, 2, 1))) / math.sqrt(dh), (-1, heads, q, steps))
            att = ops.reshape(ops.softmax(logits + (last_mask if last else full_mask), axis=-1), (-1, q, steps))
            o = ops.reshape(ops.transpose(ops.reshape(ops.matmul(att, V), (-1, heads, q, dh)), (0, 2, 1, 3)), (-1, q, d))
            xq = x[:, steps - 1:, :] if last else x
            x = xq + b['Wo'](o)
            x = x + b['W2'](ops.relu(b['W1'](b['ln2'](x))))
            if not last:
                x = x * keep
        return self.out(self.ln_f(ops.reshape(x, (-1, d))))


def main() -> None:
    kind, data_file = sys.argv[1], sys.argv[2]
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    with open(data_file) as f:
        data = json.load(f)
    k = data['keras']
    p = data['params'][kind]
    items, n, T = k['items'], k['n'], p['maxLen']
    x = np.asarray(k['x'], dtype=np.int32).reshape(n, T)
    y = np.asarray(k['y'], dtype=np.int32)
    w = {name: np.asarray(v['values'], dtype=np.float32).reshape(v['shape']) for name, v in data['weights'][kind].items()}
    model = gru4rec(p, items, w) if kind == 'gru4rec' else SasRec(p, items, w)
    model.compile(optimizer=keras.optimizers.Adam(p['learningRate'], epsilon=1e-7),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    timer = EpochTimer()
    losses = []
    t0 = time.perf_counter()
    for e in range(epochs):
        order = np.asarray(k['orders'][e], dtype=np.int64)
        h = model.fit(x[order], y[order], batch_size=p['batchSize'], epochs=e + 1, initial_epoch=e, shuffle=False,
                      verbose=0, callbacks=[timer])
        losses.append(float(h.history['loss'][-1]))
    seconds = time.perf_counter() - t0
    # The fastest epoch after the first (which traces the graph), as skiff_trainer.mjs reports.
    steady = min(timer.seconds[1:]) if len(timer.seconds) > 1 else seconds
    print(json.dumps({
        'bench': 'train',
        'backend': f'keras-{kind}',
        'samplesPerSec': round(n / steady),
        'samplesPerSecIs': 'best epoch after the first' if len(timer.seconds) > 1 else 'all',
        'samplesPerCpuSec': round(n / min(timer.cpu_seconds[1:])) if len(timer.cpu_seconds) > 1 else None,
        'epochCpuSeconds': [round(s, 2) for s in timer.cpu_seconds],
        'seconds': round(seconds, 2),
        'epochSeconds': [round(s, 2) for s in timer.seconds],
        'samplesPerSecAllEpochs': round(n * epochs / seconds),
        'loss': [round(v, 4) for v in losses],
        'examples': n,
        'epochs': epochs,
        'batch': p['batchSize'],
        'tensorflow': tf.__version__,
        'keras': keras.__version__,
        'jitCompile': bool(model.jit_compile),
        'interOpThreads': tf.config.threading.get_inter_op_parallelism_threads(),
        'intraOpThreads': tf.config.threading.get_intra_op_parallelism_threads(),
    }), flush=True)


if __name__ == '__main__':
    main()
