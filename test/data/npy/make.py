"""Writes the numpy files the .npy/.npz reader is tested against, with numpy itself.

Run from this folder: python3 make.py (numpy 2.x). The outputs are committed; numpy is not needed to run
the tests. Expected values go to dtypes.json.
"""
import json
import os

import numpy as np

root = os.path.join('..', '..', '..', 'fixtures', 'data')
iris = [json.loads(line) for line in open(os.path.join(root, 'iris', 'heldout.jsonl'))]
features = np.array([r['inputs']['features'] for r in iris], dtype=np.float32)
label = np.array([r['label'] for r in iris])
ids = np.array([r['id'] for r in iris])
petal = np.array([r['petal_size'] for r in iris])
classes = ['setosa', 'versicolor', 'virginica']

# The iris held-out rows three ways: stored archive with string labels, compressed archive with float64
# features and integer labels, and a folder of .npy files.
np.savez('iris.npz', features=features, label=label, id=ids, petal_size=petal)
np.savez_compressed('iris-compressed.npz', features=features.astype(np.float64),
                    label=np.array([classes.index(l) for l in label], dtype=np.int64), id=ids, petal_size=petal)
os.makedirs('iris', exist_ok=True)
np.save('iris/features.npy', features)
np.save('iris/label.npy', label)
np.save('iris/id.npy', ids)
np.save('iris/petal_size.npy', petal)

mpg = [json.loads(line) for line in open(os.path.join(root, 'mpg', 'heldout.jsonl'))]
np.savez('mpg.npz', features=np.array([r['inputs']['features'] for r in mpg], dtype=np.float32),
         label=np.array([r['label'] for r in mpg], dtype=np.float64),
         origin=np.array([r['origin'] for r in mpg]))

# One array per element type, three rows each.
arrays = {
    'b1': np.array([True, False, True]),
    'i1': np.array([-128, 0, 127], dtype=np.int8),
    'u1': np.array([0, 128, 255], dtype=np.uint8),
    'i2': np.array([-32768, 1, 32767], dtype=np.int16),
    'u2': np.array([0, 1, 65535], dtype=np.uint16),
    'i4': np.array([-2**31, 1, 2**31 - 1], dtype=np.int32),
    'u4': np.array([0, 1, 2**32 - 1], dtype=np.uint32),
    'i8': np.array([-2**53, 1, 2**53], dtype=np.int64),
    'u8': np.array([0, 1, 2**53], dtype=np.uint64),
    'f2': np.array([0.5, -2, 65504], dtype=np.float16),
    'f4': np.array([1.5, -0.25, 3.4e38], dtype=np.float32),
    'f8': np.array([1e-300, -0.1, 1e300], dtype=np.float64),
    'U': np.array(['a', 'héllo', 'w😀']),
    'S': np.array([b'x', b'abc', b'']),
    'grid': np.arange(24, dtype=np.float32).reshape(3, 2, 4),
}
np.savez('dtypes.npz', **arrays)
json.dump({k: {'descr': v.dtype.str, 'shape': list(v.shape),
               'values': [x.decode() if isinstance(x, bytes) else x for x in v.reshape(-1).tolist()]}
           for k, v in arrays.items()}, open('dtypes.json', 'w'), indent=1, ensure_ascii=False)
np.save('empty.npy', np.zeros((0, 4), dtype=np.float32))
# Large once inflated (320 KB from a few hundred bytes): read across many inflate chunks.
np.savez_compressed('large-compressed.npz', x=np.tile(np.arange(16, dtype=np.float32), 5000).reshape(-1, 4),
                    label=np.arange(20000, dtype=np.int64) % 3)

# Files the reader refuses, each for one reason.
os.makedirs('bad', exist_ok=True)
np.save('bad/big-endian.npy', np.array([1, 2, 3], dtype='>f4'))
np.save('bad/fortran.npy', np.asfortranarray(np.ones((3, 2), dtype=np.float32)))
np.save('bad/object.npy', np.array([{'a': 1}, None, 3], dtype=object), allow_pickle=True)
np.save('bad/structured.npy', np.zeros(3, dtype=[('x', '<f4'), ('y', '<i4')]))
with open('bad/truncated.npy', 'wb') as f:
    np.save(f, np.ones((10, 4), dtype=np.float32))
with open('bad/truncated.npy', 'r+b') as f:
    f.truncate(128 + 10 * 16 - 8)
np.savez('bad/rows-differ.npz', features=features, label=label[:49])
with open('bad/not-a-zip.npz', 'wb') as f:
    f.write(b'features,label\n1,2\n')

# Header versions 2.0 and 3.0 (numpy writes them for very large or non-latin1 headers).
with open('v2.npy', 'wb') as f:
    np.lib.format.write_array(f, np.array([[1, 2], [3, 4]], dtype=np.float32), version=(2, 0))
with open('v3.npy', 'wb') as f:
    np.lib.format.write_array(f, np.array([[1, 2], [3, 4]], dtype=np.float32), version=(3, 0))
