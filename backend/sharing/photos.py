"""Uploaded photos: checked, turned upright, resized and stored as JPEG.

Phones send 4000-pixel photos of several megabytes; people on a slow network look at
them. Pillow does the work; the file goes through Django's default storage, so the
operator chooses the file system or S3 (django-storages) in settings.
"""

import io
import warnings

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from backend.errors import ApplicationError
from backend.sharing.errors import ResourceErrorCode


def _refuse(message) -> ApplicationError:
    return ApplicationError(ResourceErrorCode.PHOTO_INVALID, message, fields={"image": [message]})


def photo_prepare(upload: UploadedFile) -> ContentFile:
    """The upload as a resized JPEG, or an error a person can act on."""
    if upload.size is not None and upload.size > settings.SHARING_PHOTO_MAX_BYTES:
        raise _refuse(
            _("The photo is larger than %(mb)s MB. Take it again at a lower resolution.")
            % {"mb": settings.SHARING_PHOTO_MAX_BYTES // (1024 * 1024)}
        )
    try:
        with warnings.catch_warnings():
            # A huge image is refused, not just warned about (decompression bombs).
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as original:
                original.load()
                image = ImageOps.exif_transpose(original)
    except (
        UnidentifiedImageError,
        OSError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        SyntaxError,
        ValueError,
    ) as error:
        raise _refuse(
            _("This file is not a photo we can read. Send a JPEG, PNG or WebP.")
        ) from error
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    size = settings.SHARING_PHOTO_MAX_PX
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=82, optimize=True)
    return ContentFile(out.getvalue(), name="photo.jpg")
