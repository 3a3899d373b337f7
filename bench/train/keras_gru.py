"""The bench/train model as Keras on Python TensorFlow (the same wheel tfjs-node was built from).

usage: .cache/tfjs-node/venv/bin/python bench/train/keras_gru.py <data.json> [epochs]
Embedding(2000, 64) -> GRU(64, reset_after=False: the only convention tfjs supports) ->
Dense(2000, softmax); Adam(1e-3), sparse categorical cross-entropy, batch 128, shuffled.
Keras 3 on a CPU-only machine resolves jit_compile="auto" to False (graph mode, no XLA).
Prints one JSON line.
"""
import json
import os
import sys
import time

os.environ.setdefault('KERAS_BACKEND', 'tensorflow')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

BATCH, EMBED, UNITS = 128, 64, 64


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.t = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.t)


def main() -> None:
    data_file = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with open(data_file) as f:
        data = json.load(f)
    items, seq_len, n = data['items'], data['seqLen'], data['n']
    x = np.asarray(data['x'], dtype=np.int32).reshape(n, seq_len)
    y = np.asarray(data['y'], dtype=np.int32)
    keras.utils.set_random_seed(1)

    model = keras.Sequential([
        keras.Input((seq_len,), dtype='int32'),
        keras.layers.Embedding(items, EMBED),
        keras.layers.GRU(UNITS, reset_after=False),
        keras.layers.Dense(items, activation='softmax'),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss='sparse_categorical_crossentropy')
    timer = EpochTimer()
    t0 = time.perf_counter()
    h = model.fit(x, y, batch_size=BATCH, epochs=epochs, shuffle=True, verbose=0, callbacks=[timer])
    seconds = time.perf_counter() - t0
    steady = timer.seconds[-1] if len(timer.seconds) > 1 else seconds
    print(json.dumps({
        'bench': 'train',
        'backend': 'keras-tf',
        'samplesPerSec': round(n / steady),
        'seconds': round(seconds, 2),
        'epochSeconds': [round(s, 2) for s in timer.seconds],
        'samplesPerSecAllEpochs': round(n * epochs / seconds),
        'loss': [round(float(v), 4) for v in h.history['loss']],
        'examples': n,
        'epochs': epochs,
        'batch': BATCH,
        'tensorflow': tf.__version__,
        'keras': keras.__version__,
        'jitCompile': bool(model.jit_compile),
        'interOpThreads': tf.config.threading.get_inter_op_parallelism_threads(),
        'intraOpThreads': tf.config.threading.get_intra_op_parallelism_threads(),
    }), flush=True)


if __name__ == '__main__':
    main()
