"""dlib's face-chip geometry, from five landmarks, without dlib.

The Cydral attribute models were trained on chips cut by dlib's ``get_face_chip_details(shape, size,
padding)`` + ``extract_image_chip``: a similarity transform (rotation, uniform scale, translation)
that puts the face's landmarks where dlib's mean face has them, the unit square of that mean face
padded by ``padding`` on every side. dlib fits it on its own 5-point predictor's eye corners and
nose base; CenterFace gives eye centres, the nose tip and the mouth corners instead, so the target
points here are those same features read off the same mean face (points 36–41 and 42–47 averaged,
30, 48 and 54 of the 68-point layout). Both fits land the face in the same place of the chip.

Downscaling is anti-aliased, as ``extract_image_chip`` does with an image pyramid: small chips of
large faces are supersampled and area-averaged (see :func:`extract_chip`).
"""

from __future__ import annotations

import cv2
import numpy as np

# dlib/image_transforms/interpolation.h: mean positions of the 68-point layout's points 17–67
# in the unit square of the face (x right, y down).
MEAN_FACE_X = np.array(
    [
        0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124,
        0.904991, 0.98004, 0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036,
        0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918,
        0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149,
        0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
        0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
        0.553364, 0.490127, 0.42689,
    ]
)  # fmt: skip
MEAN_FACE_Y = np.array(
    [
        0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891,
        0.0187482, 0.038915, 0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326,
        0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733,
        0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099,
        0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805,
        0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746,
        0.784792, 0.824182, 0.834423, 0.824182,
    ]
)  # fmt: skip


def _point(*indices: int) -> tuple[float, float]:
    """Mean of 68-layout points (the arrays start at point 17)."""
    rows = [i - 17 for i in indices]
    return float(MEAN_FACE_X[rows].mean()), float(MEAN_FACE_Y[rows].mean())


# The five points CenterFace (and RetinaFace, YuNet, SCRFD) give, in image order: eye on the left of
# the image, eye on the right, nose tip, left and right mouth corner.
MEAN_FACE_5 = np.array(
    [_point(36, 37, 38, 39, 40, 41), _point(42, 43, 44, 45, 46, 47), _point(30), _point(48), _point(54)]
)


def template(size: int, padding: float = 0.2) -> np.ndarray:
    """Where the five landmarks sit in a ``size``×``size`` chip: dlib's ``(padding + p) / (2·padding + 1)``."""
    return (padding + MEAN_FACE_5) / (2 * padding + 1) * size


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2×3 similarity (no shear, no reflection) mapping ``src`` points onto ``dst`` in the least-
    squares sense: Umeyama (1991), the closed form dlib's ``find_similarity_transform`` computes."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mean_s, mean_d = src.mean(0), dst.mean(0)
    cs, cd = src - mean_s, dst - mean_d
    cov = cd.T @ cs / len(src)
    u, d, vt = np.linalg.svd(cov)
    flip = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        flip[1, 1] = -1
    rotation = u @ flip @ vt
    variance = (cs**2).sum() / len(src)
    scale = float(np.trace(np.diag(d) @ flip) / variance) if variance > 0 else 1.0
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = mean_d - scale * rotation @ mean_s
    return matrix


def chip_matrix(landmarks: np.ndarray, size: int, padding: float = 0.2) -> np.ndarray:
    """Frame → chip transform for one face's five (x, y) landmarks."""
    return similarity(landmarks, template(size, padding))


def box_landmarks(box: tuple[float, float, float, float]) -> np.ndarray:
    """Five landmarks guessed from a box, for detectors that give none (Haar): the mean face's points
    stretched over the box. Only an approximation: the box is taken as the mean face's unit square."""
    x1, y1, x2, y2 = box
    return MEAN_FACE_5 * [x2 - x1, y2 - y1] + [x1, y1]


def extract_chip(frame: np.ndarray, matrix: np.ndarray, size: int, max_supersample: int = 8) -> np.ndarray:
    """The ``size``×``size`` chip ``matrix`` maps the frame onto; outside the frame is black.

    When the face is larger than the chip, the chip is warped at ``k`` times its size (k ≈ source
    pixels per chip pixel, at most ``max_supersample``) and area-averaged down: anti-aliased like
    dlib's pyramid, and as sharp as a plain resize of an aligned crop. Warping a pre-shrunk region
    instead blurs by half a pixel and cost a point of gender accuracy on the UTKFace sample.
    """
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    k = int(min(max_supersample, max(1, np.ceil(1 / max(scale, 1e-6) - 1e-3))))
    if k == 1:
        return cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    fine = matrix * k
    fine[:, 2] += (k - 1) / 2  # centre of chip pixel c is at k·c + (k − 1)/2 on the fine grid
    big = cv2.warpAffine(frame, fine, (size * k, size * k), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    return cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
