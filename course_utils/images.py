"""Decoding image files: one decoder for uploads, image folders and photos (and :func:`encode`,
its reverse, to make such a file from a picture).

Every path that turns a file into pixels goes through :func:`decode`, so an upload and the
same file in an image folder give the same picture and the same error:

- the format is recognised from the content (a GIF named ``.png`` is decoded as a GIF);
- the pixel count is checked from the header, before any pixel is decoded (at most
  :data:`MAX_PIXELS`): a 100-byte file can announce a gigapixel;
- a truncated or damaged file is refused with its name (never half-decoded and gray-filled);
- the EXIF orientation is applied (phone photos come upright, as a viewer shows them);
- 16-bit grayscale is scaled to 0..255 (not clipped to white).
"""
import contextlib
import io
import warnings
from pathlib import Path

import numpy as np

MAX_PIXELS = 80_000_000
FORMATS = "JPEG, PNG, GIF, BMP, TIFF or WebP"
#: what Pillow reports for the formats above (the content decides, not the file's extension)
PIL_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "BMP", "TIFF", "WEBP")


class NotAnImageError(ValueError):
    """The data are not an image the course can read; the message says what was received."""


def _read(source, name):
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name or "the file"
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            return path.read_bytes(), name or str(path)
        except OSError as err:
            raise NotAnImageError(f"cannot read {path} ({err.strerror or err})") from None
    raise TypeError(f"expected an image file's bytes (bytes, bytearray or memoryview) or its "
                    f"path, got {type(source).__name__}; read a file with open(path, 'rb').read()")


def _to_rgb(image):
    """RGB, with high-bit-depth gray scaled (Pillow's own I;16 -> RGB clips everything to 255)."""
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        pixels = np.asarray(image).astype(np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or pixels.max() > 255 else 255.0
        image = Image.fromarray(np.round(np.clip(pixels, 0, top) * (255.0 / top)).astype(np.uint8))
    elif image.mode == "F":
        pixels = np.asarray(image, dtype=np.float64)
        top = 1.0 if pixels.max() <= 1.0 else 255.0
        image = Image.fromarray(np.round(np.clip(pixels, 0, top) * (255.0 / top)).astype(np.uint8))
    return image.convert("RGB")


def decode(source, name=None, max_pixels=MAX_PIXELS):
    """Decode an image file into an upright RGB picture.

    Parameters
    ----------
    source : bytes, bytearray, memoryview, str or Path
        The whole file, or its path.
    name : str, optional
        The file's name in error messages (default: the path, or "the file").
    max_pixels : int
        Refuse larger images (checked from the header, before decoding).

    Returns
    -------
    PIL.Image.Image
        Mode ``'RGB'`` (gray, 16-bit gray, palette, RGBA and CMYK are converted; an animation
        gives its first frame).

    Raises
    ------
    NotAnImageError
        Empty, not an image of a known format, truncated or damaged, or too many pixels.
    """
    from PIL import ImageOps

    with _opened(source, name, max_pixels) as (image, name):
        try:
            image.load()  # damage shows up here
            return _to_rgb(ImageOps.exif_transpose(image))
        except (OSError, SyntaxError, ValueError, EOFError) as err:  # truncated or corrupt data
            raise NotAnImageError(
                f"{name} looks like an image but could not be decoded ({type(err).__name__}: "
                f"{err}); it may be truncated or damaged: save it again or choose another "
                "photo") from None


def encode(image, format="JPEG", quality=90):
    """Encode a picture as an image file's bytes, as if it had been saved and uploaded.

    The reverse of :func:`decode` (lossless for PNG, nearly so for JPEG at quality 90).

    Parameters
    ----------
    image : np.ndarray or PIL.Image.Image
        ``(H, W, 3)`` or ``(H, W)`` uint8.
    format : str, default 'JPEG'
        Any format Pillow writes (``'PNG'``, ``'BMP'``, ...).
    quality : int, default 90
        JPEG quality.

    Returns
    -------
    bytes
    """
    from PIL import Image

    if not isinstance(image, Image.Image):
        array = np.asarray(image)
        if array.dtype != np.uint8:
            raise ValueError(f"expected a uint8 image (values 0..255), got dtype {array.dtype}")
        image = Image.fromarray(array)
    buffer = io.BytesIO()
    options = {"quality": quality} if format.upper() in ("JPEG", "JPG") else {}
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def check(source, name=None, max_pixels=MAX_PIXELS):
    """Check the header only (format, pixel count) and return ``(format, (width, height))``.

    Cheap: no pixel is decoded, so damage further into the file shows up in :func:`decode`.
    Raises :class:`NotAnImageError` like :func:`decode`.
    """
    with _opened(source, name, max_pixels) as (image, _):
        return image.format, image.size


@contextlib.contextmanager
def _opened(source, name, max_pixels):
    from PIL import Image, ImageFile, UnidentifiedImageError

    raw, name = _read(source, name)
    if not raw:
        raise NotAnImageError(f"{name} is empty (0 bytes): choose a photo ({FORMATS})")
    # importing gluoncv.data switches Pillow to accept truncated files process-wide
    # (gluoncv/data/mhp.py); a damaged file must be reported, not silently half-decoded
    accept_truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        Image.init()
        known = [f for f in PIL_FORMATS if f in Image.OPEN]  # MPO: only in newer Pillows
        try:
            with warnings.catch_warnings():  # the limit below decides, with a clear message
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(io.BytesIO(raw), formats=known)  # reads the header only
        except UnidentifiedImageError:
            raise NotAnImageError(
                f"{name} is not an image Pillow can read ({len(raw):,} bytes starting with "
                f"{raw[:16]!r}): choose a photo ({FORMATS})") from None
        except Image.DecompressionBombError as err:
            raise NotAnImageError(f"{name} has too many pixels to decode safely ({err}); "
                                  "shrink it and try again") from None
        except (OSError, SyntaxError, ValueError, EOFError) as err:
            raise NotAnImageError(f"{name} has a damaged header ({type(err).__name__}: {err}): "
                                  "save it again or choose another photo") from None
        width, height = image.size
        if width * height > max_pixels:
            raise NotAnImageError(
                f"{name} is {width} x {height} = {width * height / 1e6:.0f} megapixels, more than "
                f"the {max_pixels / 1e6:.0f} megapixels that can be decoded safely: shrink it "
                "and try again")
        with image:
            yield image, name
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = accept_truncated
