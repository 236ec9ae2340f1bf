#!/usr/bin/python3
"""Prints, as one JSON document, pydicom's decoding of the pixel data of each file named on the
command line, so that src/dicom/{rle,frames,transcode}.test.ts can check ours against it.

Run with Debian's /usr/bin/python3 (python3-pydicom, python3-numpy).
Usage: pydicom-pixels.py FILE...
Output: {"pydicom": version, "files": [{"file", "error"?, "transferSyntax", "shape": [...],
"dtype", "frames", "samplesPerPixel", "bitsAllocated", "planarConfiguration"?, "pixels": base64}]}

"pixels" is ds.pixel_array's bytes, little endian, in numpy's C order: (frames,) rows, columns
(, samples). So a color image is always color-by-pixel whatever Planar Configuration says, and
Bits Allocated 1 data is one byte (0 or 1) per pixel, unpacked.
"""
import base64
import json
import sys
import warnings

import pydicom


def describe(name):
    entry = {'file': name}
    try:
        ds = pydicom.dcmread(name)
        entry['transferSyntax'] = str(ds.file_meta.TransferSyntaxUID)
        arr = ds.pixel_array
        little = arr.astype(arr.dtype.newbyteorder('<'), copy=False)
        entry.update({
            'shape': list(arr.shape),
            'dtype': str(little.dtype),
            'frames': int(getattr(ds, 'NumberOfFrames', 1) or 1),
            'samplesPerPixel': int(ds.SamplesPerPixel),
            'bitsAllocated': int(ds.BitsAllocated),
            'pixels': base64.b64encode(little.tobytes()).decode('ascii'),
        })
        if 'PlanarConfiguration' in ds:
            entry['planarConfiguration'] = int(ds.PlanarConfiguration)
    except Exception as e:  # reported, so that the test can say why a file has no reference
        entry['error'] = '%s: %s' % (type(e).__name__, e)
    return entry


def main():
    warnings.simplefilter('ignore')
    files = [describe(name) for name in sys.argv[1:]]
    json.dump({'pydicom': pydicom.__version__, 'files': files}, sys.stdout)


if __name__ == '__main__':
    main()
