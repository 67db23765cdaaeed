"""The one drawing path of the playgrounds: a matplotlib figure, as PNG bytes, in an Image widget.

Every widget of :mod:`course_utils.widgets` draws with :func:`show`. The picture is plain PNG
bytes (``widget.picture.value``), not an ``ipywidgets.Output`` area, so it looks the same in
every frontend and when the notebook runs without one (nbconvert, nbval); each figure is closed
once drawn, so redraws do not pile up figures. ``matplotlib.pyplot`` is imported only when
drawing, and no backend is chosen here: the notebook's is used.
"""
import io

import ipywidgets as widgets

DPI = 80


def picture(**layout):
    """An empty ``ipywidgets.Image`` for PNG bytes; ``layout`` as for ``ipywidgets.Layout``."""
    return widgets.Image(format="png", layout=widgets.Layout(**layout))


def figure(*args, **kwargs):
    """``plt.subplots(*args, **kwargs)`` at the widgets' resolution; returns ``(fig, axes)``."""
    import matplotlib.pyplot as plt

    return plt.subplots(*args, dpi=DPI, **kwargs)


def show(picture, fig):
    """Put ``fig`` into the Image widget ``picture`` as PNG bytes, then close ``fig``."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=DPI)
    finally:
        plt.close(fig)  # never shown itself: redraws do not pile up figures
    picture.value = buffer.getvalue()
