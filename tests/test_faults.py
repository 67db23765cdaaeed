"""Fault injection: the inputs a classroom actually gets wrong, one test per case (issue 15).

Each test feeds one bad or adverse input and asserts three things: the outcome (the right result,
or an error that names the input, what was expected and what to do), that nothing the learner
had was lost (weights, files), and that no file or process was left behind. The hostile
checkpoints and archives are covered in test_pretrained.py and test_classroom.py.
"""
import numpy as np
import pytest

import course_utils  # noqa: F401  (before mxnet)
from course_utils import config, data, models, train
import mxnet as mx
from mxnet import gluon


# ---------------------------------------------------------------- train.fit refuses bad input

@pytest.fixture(scope="module")
def mnist():
    """512 real MNIST training images, all classes mixed, (N, 1, 28, 28) float32 in [0, 1]."""
    X, y = data.to_arrays(data.load_mnist(True))  # the bundled subset is sorted by class
    pick = mx.nd.array(np.random.RandomState(0).permutation(X.shape[0])[:512], dtype="int64")
    return X.take(pick), y.take(pick)


def _initialized_lenet():
    config.set_seed(0)
    net = models.LeNet()
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())
    net(mx.nd.zeros((1, 1, 28, 28)))
    mx.nd.waitall()  # see _weights
    return net


def _weights(net):
    """A copy of every weight, read once MXNet has finished all it queued.

    Without the wait the copy can be torn: the first forward pass of a new net (in
    _initialized_lenet) makes oneDNN rewrite the second conv's weights in place, in its own
    blocked layout, on a worker thread; a read that overlaps that rewrite returns scrambled
    values, and the test saw "weights changed" though fit touched nothing.
    """
    mx.nd.waitall()
    return {k: v.data().asnumpy().copy() for k, v in net.collect_params().items()}


def _fit_refuses(net, loader, error, pattern, unchanged=True, **kwargs):
    """fit raises ``error`` matching ``pattern``; a fault in the first batch changes no weight."""
    before = _weights(net)
    with pytest.raises(error, match=pattern):
        train.fit(net, loader, num_epochs=1, ctx=mx.cpu(), progress=False, **kwargs)
    after = _weights(net)
    same = all(np.array_equal(before[k], after[k]) for k in before)
    assert same == unchanged, "weights changed" if unchanged else "the good batches did not train"


@pytest.mark.parametrize("shift, shown", [(0, None), (1, "label 10"), (-1, "found -1")])
def test_fit_refuses_labels_outside_0_to_k_minus_1(mnist, shift, shown):
    X, y = mnist
    y = y.copy()
    if shift == 0:  # the class count itself appears once, in the third batch
        y[300] = 10
        shown = "batch 3: found label 10"
    else:  # 1..K or -1..K-2: the whole labelling is off by one
        y = y + shift
    _fit_refuses(_initialized_lenet(), data.ArrayLoader(X, y, 128), ValueError, shown,
                 unchanged=shift != 0)


def test_fit_message_for_labels_says_what_to_do(mnist):
    X, y = mnist
    with pytest.raises(ValueError) as err:
        train.fit(_initialized_lenet(), data.ArrayLoader(X, y + 1, 128), num_epochs=1,
                  ctx=mx.cpu(), progress=False)
    assert "10 outputs" in str(err.value) and "0..9" in str(err.value) and "y - 1" in str(err.value)


def test_fit_refuses_fractional_labels(mnist):
    X, y = mnist
    _fit_refuses(_initialized_lenet(), data.ArrayLoader(X, y + 0.5, 128), ValueError,
                 "class indices")


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_fit_refuses_one_non_finite_pixel(mnist, value):
    X, y = mnist
    X = X.copy()
    X[200, 0, 14, 14] = value  # one pixel among 512 images, in the second batch
    _fit_refuses(_initialized_lenet(), data.ArrayLoader(X, y, 128), ValueError,
                 r"epoch 1, batch 2: the inputs X hold 1 NaN or infinite", unchanged=False)
    X[200, 0, 14, 14] = 0
    X[5, 0, 3, 3] = value  # in the first batch: refused before any step
    _fit_refuses(_initialized_lenet(), data.ArrayLoader(X, y, 128), ValueError,
                 r"epoch 1, batch 1: the inputs X hold 1 NaN or infinite")


@pytest.mark.parametrize("lr", [-0.1, 0, float("nan"), float("inf"), "fast", None])
def test_fit_refuses_a_rate_that_is_not_positive_and_finite(mnist, lr):
    X, y = mnist
    _fit_refuses(_initialized_lenet(), data.ArrayLoader(X, y, 128), ValueError,
                 "lr must be a positive finite number", lr=lr)


def test_fit_refuses_a_bad_rate_given_in_optimizer_params(mnist):
    X, y = mnist
    _fit_refuses(_initialized_lenet(), data.ArrayLoader(X, y, 128), ValueError,
                 "positive finite", optimizer_params={"learning_rate": -1.0})


def test_fit_refuses_teacher_without_loss(mnist):
    X, y = mnist
    teacher = _initialized_lenet()
    _fit_refuses(_initialized_lenet(), data.ArrayLoader(X, y, 128), ValueError,
                 r"loss=tricks\.make_distillation_loss", teacher=teacher)


@pytest.mark.parametrize("loader", [[], iter([])], ids=["empty list", "used-up generator"])
def test_fit_refuses_an_empty_loader(loader):
    _fit_refuses(_initialized_lenet(), loader, ValueError, "yielded no batches in epoch 1")


def test_divergence_stops_at_the_batch_it_happens(mnist):
    X, y = mnist
    config.set_seed(0)
    net = models.MLP(hidden=(64,))
    with pytest.raises(FloatingPointError) as err:
        train.fit(net, data.ArrayLoader(X, y, 64), num_epochs=3, lr=1e30, ctx=mx.cpu(),
                  progress=False)
    message = str(err.value)
    assert "in epoch 1, batch " in message and "10x smaller" in message
    batch = int(message.split("batch ")[1].split(":")[0])
    assert 1 <= batch <= 8  # 512 images / 64: it stopped inside the first epoch


def test_valid_input_still_trains_the_same(mnist):
    """The checks change nothing for good data: two seeded runs agree bit for bit and learn."""
    X, y = mnist
    runs = []
    for _ in range(2):
        net = _initialized_lenet()
        config.set_seed(1)
        h = train.fit(net, data.ArrayLoader(X, y, 64, shuffle=True), num_epochs=2, lr=0.5,
                      ctx=mx.cpu(), progress=False)
        runs.append((h["train_loss"], _weights(net)))
    assert runs[0][0] == runs[1][0]
    assert runs[0][0][1] < runs[0][0][0]


# ---------------------------------------------------------------- student copies keep learners' work

def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def _student_cli(*args):
    from course_utils.__main__ import main

    return main(["student", *map(str, args)])


def test_student_refuses_to_overwrite_an_edited_copy(tmp_path, capsys):
    src = sorted(config.NOTEBOOK_DIR.glob("00_*.ipynb"))[0]
    out = tmp_path / "class"
    assert _student_cli("--out", out, src) == 0
    copy = out / src.name
    edited = copy.read_text(encoding="utf-8").replace('"source": [', '"source": ["# my answer\\n", ', 1)
    copy.write_text(edited, encoding="utf-8")
    before = _listing(out)
    capsys.readouterr()
    assert _student_cli("--out", out, src) == 1
    message = capsys.readouterr().out
    assert "[FAIL]" in message and src.name in message and "--force" in message
    assert "[ok]" not in message
    assert copy.read_text(encoding="utf-8") == edited  # the learner's work is still there
    assert _listing(out) == before  # no temporary file left
    assert _student_cli("--out", out, "--force", src) == 0  # the instructor insists
    assert "# my answer" not in copy.read_text(encoding="utf-8")


def test_student_rewrites_an_unchanged_copy_and_writes_0644(tmp_path, monkeypatch):
    import os
    from course_utils.admin import student

    src = sorted(config.NOTEBOOK_DIR.glob("00_*.ipynb"))[0]
    out = tmp_path / "class"
    old = os.umask(0o022)
    try:
        student.make_student_versions(out, [src])
        copy = out / src.name
        assert copy.stat().st_mode & 0o777 == 0o644
        # the instructor changes the original: an untouched copy is simply replaced
        changed = tmp_path / src.name
        changed.write_text(src.read_text(encoding="utf-8").replace("Learning goals", "Goals", 1),
                           encoding="utf-8")
        student.make_student_versions(out, [changed])
        assert "Goals" in copy.read_text(encoding="utf-8")
        os.umask(0o077)  # a private umask is respected
        (out / src.name).unlink()
        student.make_student_versions(out, [src])
        assert copy.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
    assert _listing(out) == sorted([".student-copies.json", src.name])


# ---------------------------------------------------------------- one image decoder, bounded

def _png(width, height, idat=b""):
    """A PNG whose header announces ``width x height`` 8-bit gray pixels (rows of zeros)."""
    import struct
    import zlib

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    rows = idat or zlib.compress(b"\0" * ((width + 1) * height), 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def test_a_tiny_strip_image_preprocesses_in_bounded_memory(tmp_path):
    """A 20000 x 1 PNG (about 140 bytes) once took 5.6 GB and 33 s; now a few MB."""
    import subprocess
    import sys

    strip = _png(20000, 1)
    assert len(strip) < 200
    (tmp_path / "strip.png").write_bytes(strip)
    script = ("import resource, sys, course_utils\n"
              "from course_utils import images, pretrained\n"
              "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
              "x = pretrained.preprocess(images.decode(open(sys.argv[1], 'rb').read()))\n"
              "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
              "print(x.shape, base // 1024, peak // 1024)\n")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "strip.png")],
                         capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert out[:4] == ["(1,", "3,", "224,", "224)"]
    base_mb, peak_mb = int(out[4]), int(out[5])
    assert peak_mb - base_mb < 100, f"preprocess raised the peak RSS by {peak_mb - base_mb} MB"
    assert _listing(tmp_path) == ["strip.png"]


def test_the_pixel_limit_holds_from_the_header():
    from course_utils import images

    huge = _png(12000, 12000, idat=b"x")  # 144 MP announced; Pillow alone accepts it (2 GB)
    with pytest.raises(images.NotAnImageError,
                       match=r"12000 x 12000 = 144 megapixels.*80 megapixels"):
        images.decode(huge, "huge.png")
    assert images.MAX_PIXELS == 80_000_000


def _photo_folder(root, name, raw):
    """A two-class folder: ``cat/<name>`` holds ``raw``, ``coffee/`` one real photo."""
    from course_utils import images

    (root / "cat").mkdir(parents=True)
    (root / "coffee").mkdir()
    (root / "cat" / name).write_bytes(raw)
    (root / "coffee" / "coffee.jpg").write_bytes(images.encode(data.load_photo("coffee")))
    return root


def _both_paths(tmp_path, name, raw):
    """The same file decoded by the upload path and by the image folder, as uint8 arrays."""
    from course_utils import images, transfer

    upload = np.asarray(images.decode(raw, name))
    folder = transfer.ImageFolder(_photo_folder(tmp_path / "photos", name, raw))
    item = folder[folder.items.index((str(tmp_path / "photos" / "cat" / name), 0))][0].asnumpy()
    return upload, item


def test_16_bit_gray_is_scaled_not_white_on_both_paths(tmp_path):
    from PIL import Image

    gray = np.asarray(Image.fromarray(data.load_photo("chelsea")).convert("L"))
    buffer = __import__("io").BytesIO()
    Image.fromarray(gray.astype(np.uint16) * 257).save(buffer, format="PNG")  # 16-bit PNG
    upload, item = _both_paths(tmp_path, "gray16.png", buffer.getvalue())
    assert upload.shape == item.shape == gray.shape + (3,)
    assert np.array_equal(upload, item)
    assert np.abs(upload[:, :, 0].astype(int) - gray).max() <= 1  # not all 255


def test_exif_orientation_is_applied_on_both_paths(tmp_path):
    from PIL import Image

    photo = Image.fromarray(data.load_photo("chelsea"))  # 451 x 300, stored as a phone does:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    buffer = __import__("io").BytesIO()
    photo.save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    upload, item = _both_paths(tmp_path, "phone.jpg", buffer.getvalue())
    assert upload.shape == item.shape == (451, 300, 3)  # upright: taller than wide
    assert np.array_equal(upload, item)


@pytest.mark.parametrize("name, fmt", [("cat.webp", "WEBP"), ("really_a_gif.png", "GIF")])
def test_webp_and_a_misnamed_gif_are_read_by_content(tmp_path, name, fmt):
    from course_utils import images

    raw = images.encode(data.load_photo("chelsea"), format=fmt)
    upload, item = _both_paths(tmp_path, name, raw)
    assert upload.shape == item.shape == (300, 451, 3)
    assert np.array_equal(upload, item)


def test_a_truncated_jpeg_is_refused_with_its_name(tmp_path):
    from course_utils import images, transfer

    raw = images.encode(data.load_photo("chelsea"))
    cut = raw[:len(raw) // 2]
    with pytest.raises(images.NotAnImageError, match="half.jpg.*truncated"):
        images.decode(cut, "half.jpg")
    folder = transfer.ImageFolder(_photo_folder(tmp_path / "photos", "half.jpg", cut))
    with pytest.raises(images.NotAnImageError, match=r"cat/half\.jpg.*truncated or damaged"):
        [folder[i] for i in range(len(folder))]
    assert sorted(p.name for p in (tmp_path / "photos").rglob("*")) == [
        "cat", "coffee", "coffee.jpg", "half.jpg"]


# ---------------------------------------------------------------- the doctor checks what will be needed

def _doctor(env_extra, tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, MXNET_HOME=str(tmp_path / "home"), **env_extra)
    return subprocess.run([sys.executable, "-m", "course_utils", "doctor"], capture_output=True,
                          text=True, timeout=300, env=env)


@pytest.mark.parametrize("variable, value, shown", [
    ("COURSE_PROFILE", "bogus", "COURSE_PROFILE is 'bogus'; expected one of"),
    ("COURSE_THREADS", "abc", "COURSE_THREADS is 'abc'; expected a whole number >= 1"),
    ("COURSE_THREADS", "0", "COURSE_THREADS is '0'"),
    ("COURSE_THREADS", "-2", "COURSE_THREADS is '-2'"),
])
def test_doctor_names_a_bad_setting_without_a_traceback(tmp_path, variable, value, shown):
    done = _doctor({variable: value}, tmp_path)
    assert done.returncode == 1
    assert f"[FAIL] profile: {shown}" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert "cannot run here yet" in done.stdout


@pytest.mark.parametrize("value", ["abc", "0", "-2"])
def test_import_course_utils_survives_a_bad_thread_count(tmp_path, value):
    import os
    import subprocess
    import sys

    env = dict(os.environ, COURSE_THREADS=value)
    done = subprocess.run([sys.executable, "-c", "import course_utils\nfrom course_utils import "
                           "config\nprint(config.THREADS)"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0 and int(done.stdout) >= 1
    assert f"COURSE_THREADS is '{value}'" in done.stderr and "Traceback" not in done.stderr


def test_doctor_fails_the_full_profile_offline_with_an_empty_cache(monkeypatch, tmp_path):
    from course_utils.admin import doctor as health

    monkeypatch.setenv("COURSE_PROFILE", "full")
    monkeypatch.setattr(config, "MXNET_HOME", tmp_path)
    monkeypatch.setattr(health, "_reachable", lambda url, timeout=3.0: False)
    checks = {c.name: c for c in health.check_data()}
    assert checks["data mnist"].status == "FAIL"
    assert "cannot be reached" in checks["data mnist"].detail
    assert "COURSE_PROFILE=default" in checks["data mnist"].detail
    monkeypatch.setattr(health, "_reachable", lambda url, timeout=3.0: True)
    assert {c.name: c for c in health.check_data()}["data mnist"].status == "warn"


def test_doctor_verifies_cached_weights(monkeypatch, tmp_path):
    from gluoncv.model_zoo import model_store
    from course_utils.admin import doctor as health

    monkeypatch.setattr(config, "MXNET_HOME", tmp_path)
    (tmp_path / "models").mkdir()
    damaged = tmp_path / "models" / f"resnet18_v1-{model_store.short_hash('resnet18_v1')}.params"
    damaged.write_bytes(b"\x12" * 4096)  # the right name, the wrong bytes
    check = health.check_weights()
    assert check.status == "FAIL" and damaged.name in check.detail and "prepare" in check.detail
    assert damaged.is_file()  # reported, not deleted behind the instructor's back
    damaged.unlink()
    (tmp_path / "models" / "efficientnet-lite0-57934424.pth").write_bytes(b"flipped" * 100)
    (tmp_path / "models" / "efficientnet_lite0-57934424.params").write_bytes(b"x")
    check = health.check_weights()
    assert check.status == "FAIL" and "efficientnet-lite0-57934424.pth" in check.detail


# ---------------------------------------------------------------- models say what input they expect

@pytest.mark.parametrize("make, shown", [
    (lambda X: X.astype("float64"), r"float64 input .*X\.astype\('float32'\)$"),
    (lambda X: (X * 255).astype("uint8"), r"uint8 input .*astype\('float32'\) / 255"),
    (lambda X: X.transpose((0, 2, 3, 1)), r"channels last .*transpose\(\(0, 3, 1, 2\)\)"),
    (lambda X: X[0], r"one image of shape \(1, 28, 28\).*expand_dims"),
])
@pytest.mark.parametrize("hybridize", [False, True])
def test_models_refuse_input_they_cannot_be_meant_for(mnist, make, shown, hybridize):
    X, _ = mnist
    net = _initialized_lenet()
    if hybridize:
        net.hybridize()
    expected = net(X[:4]).asnumpy()
    with pytest.raises(ValueError, match=shown) as err:
        net(make(X[:4]))
    assert "LeNet" in str(err.value) and "(N, 1, 28, 28)" in str(err.value)
    assert np.array_equal(net(X[:4]).asnumpy(), expected)  # the net still works afterwards


def test_predict_topk_refuses_k_below_one():
    from course_utils import pretrained

    net = gluon.nn.Dense(1000)
    net.initialize()
    x = mx.nd.zeros((1, 3, 224, 224))
    for k in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match=r"k \(how many classes to list\) must be a positive integer"):
            pretrained.predict_topk(net, x, k=k)
    assert len(pretrained.predict_topk(net, x, k=3)) == 3
