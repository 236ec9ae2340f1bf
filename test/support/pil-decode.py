#!/usr/bin/python3
"""Decodes an image (PNG or JPEG) read from standard input with Pillow and prints, as JSON, its
format, mode, size and pixels (base64, row-major, 1 byte per channel), so that tests can check
Rampart's encoders with an independent decoder. Run with Debian's /usr/bin/python3 (python3-pil).
"""
import base64
import io
import json
import sys

from PIL import Image

img = Image.open(io.BytesIO(sys.stdin.buffer.read()))
img.load()
json.dump({'format': img.format, 'mode': img.mode, 'width': img.size[0], 'height': img.size[1],
           'pixels': base64.b64encode(img.tobytes()).decode('ascii')}, sys.stdout)
