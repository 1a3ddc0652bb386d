"""命令行：python -m vggbook train|record|compare|data（与笔记本调用的是同一份代码）。

出错时只打印一行：哪里错了、怎样修复（命令行上任意位置加 --traceback 可看完整的回溯）。
Ctrl-C 或 SIGTERM 会结束训练，已完成的迭代周期会保留。
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
from pathlib import Path

# argparse's own words, in the book's language (used only while this command line parses its arguments).
_ARGPARSE_ZH = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "show this help message and exit": "显示这段帮助并退出",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "the following arguments are required: %s": "缺少这些参数：%s",
    "unrecognized arguments: %s": "不认识的参数：%s（python -m vggbook train --help 列出全部选项）",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选择 %(value)r（可选 %(choices)s）",
    "invalid %(type)s value: %(value)r": "无效的值 %(value)r",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "expected one argument": "后面要跟一个值",
    "expected at least one argument": "后面至少要跟一个值",
    "expected at most one argument": "后面最多跟一个值",
    "ambiguous option: %(option)s could match %(matches)s": "选项 %(option)s 不明确：可能是 %(matches)s",
    "one of the arguments %s is required": "需要 %s 中的一个",
    "not allowed with argument %s": "不能与 %s 一起用",
    "ignored explicit argument %r": "多余的值 %r",
    "expected %s argument": "后面要跟 %s 个值",
    "expected %s arguments": "后面要跟 %s 个值",
}


@contextlib.contextmanager
def _chinese_argparse():
    """argparse's messages in Chinese while the block runs; restored afterwards."""
    saved = argparse._, argparse.ngettext
    argparse._ = lambda text: _ARGPARSE_ZH.get(text, text)
    argparse.ngettext = lambda one, many, n: _ARGPARSE_ZH.get(one if n == 1 else many, one if n == 1 else many)
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"应是不小于 1 的整数，却是 {text!r}")
    return int(text)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应是一个数，如 0.05，却是 {text!r}") from None


def _parser(archs, profiles, precisions) -> argparse.ArgumentParser:
    def parser(sub, name, text):
        return sub.add_parser(name, help=text, description=text, allow_abbrev=False)

    p = argparse.ArgumentParser(prog="python -m vggbook", description=__doc__.splitlines()[0],
                                allow_abbrev=False)
    sub = p.add_subparsers(dest="command", required=True, title="命令", metavar="{train,record,compare,data}")
    t = parser(sub, "train", "训练一个配置，把它的训练历史写成 JSON")
    t.add_argument("--arch", type=_arch(archs), help="网络：" + ", ".join(archs) + "（默认 vgg11）")
    t.add_argument("--ratio", type=_positive, help="每一层的通道数除以它（默认 4，本章的窄版；1：完整宽度）")
    t.add_argument("--resize", type=_positive, help="图像边长，像素（默认 224；5 个 VGG 块至少 32）。"
                                                    "你给的值照样训练；配置（profile）只缩小你没改的本章默认值")
    t.add_argument("--epochs", type=_positive, help="迭代周期数（默认 10）")
    t.add_argument("--lr", type=_number, help="学习率（默认 0.05）")
    t.add_argument("--batch-size", type=_positive, help="批量大小（默认 128）")
    t.add_argument("--profile", choices=list(profiles), default=None,
                   help="做多少：full（本章的设置，给 GPU）、cpu（96 像素、6 个迭代周期）、smoke（几秒，给 CI）；"
                        "默认取 $VGGBOOK_PROFILE，否则有 CUDA 时 full，没有时 cpu")
    t.add_argument("--device", default=None, help="cuda 或 cpu（默认：有 CUDA 就用 cuda）")
    t.add_argument("--precision", default="auto", choices=precisions,
                   help="auto：计算能力 8.0 及以上的 GPU 用 bf16，更早的 GPU 用 fp16；有 bf16 指令"
                        "（AVX512_BF16 或 AMX）的 CPU 用 bf16，其他 CPU 用 fp32")
    t.add_argument("--out", type=Path, default=None,
                   help="训练历史写到这个文件（文件夹要已经存在）；中断的运行写到 <名字>.interrupted.json")
    r = parser(sub, "record", "训练本书还没有记录的运行，写进 vggbook/results/（在 GPU 上用 full 配置，或 --cpu）")
    r.add_argument("names", nargs="*", help="记录这些运行（如 vgg16-bn-96px），已经记录过的也重新记录")
    r.add_argument("--cpu", action="store_true", help="本书的 CPU 运行（cpu 配置：2 核上每个 2 到 20 分钟）")
    c = parser(sub, "compare", "把在 GPU 上重新训练的运行与本书的记录对照")
    c.add_argument("retrained", type=Path, help="一次 GPU 作业的 VGGBOOK_RUNS_DIR 文件夹")
    c.add_argument("--tolerance", type=_number, default=0.015, help="测试精度允许相差的最大值（默认 0.015）")
    c.add_argument("--allow-missing", action="store_true", help="不要求每个记录都重新训练过")
    parser(sub, "data", "找到（联网时下载）Fashion-MNIST 并校验它")
    return p


def _arch(archs):
    def arch(text: str) -> str:
        """An architecture's name in any case ('VGG16', 'a-lrn'); an unknown one is left for Config to refuse."""
        return {name.lower(): name for name in archs}.get(text.lower(), text)
    return arch


def _device(name: str | None):
    import torch
    from . import runs
    try:
        device = torch.device(name) if name else runs.default_device()
    except RuntimeError:
        raise ValueError(f"--device {name!r} 不是一个设备：用 cuda 或 cpu") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda，但 torch 在这里看不到 CUDA GPU：用 --device cpu")
    return device


def _check_out(out: Path | None) -> None:
    """Refuse, before any training, an --out that cannot be written: a folder, a folder that does not
    exist, or one where no file can be created (tried for real: root passes every permission check)."""
    if out is None:
        return
    if out.is_dir():
        raise ValueError(f"--out {out} 是一个文件夹：给一个文件名，如 --out {out / 'run.json'}")
    folder = out.absolute().parent
    if not folder.is_dir():
        raise ValueError(f"--out {out}：文件夹 {folder} 不存在：先创建它（mkdir -p {folder}），或者换一个地方")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise ValueError(f"--out {out}：不能在 {folder} 中写文件（{e.strerror}）：换一个地方") from None


def _train(a) -> int:
    import torch
    from . import runs
    from .train import keep_freed_memory, precision_for
    given = dict(arch=a.arch, ratio=a.ratio, resize=a.resize, epochs=a.epochs, lr=a.lr, batch_size=a.batch_size,
                 precision=a.precision)
    cfg = runs.Config(**{k: v for k, v in given.items() if v is not None})
    profile = a.profile or runs.current_profile()
    device = _device(a.device)
    precision_for(device, a.precision)          # these need no data: check them first
    _check_out(a.out)
    with torch.device("meta"):  # builds no weights: an impossible image size fails here
        runs.make_model(runs.sized(cfg, profile))
    if device.type == "cpu":
        keep_freed_memory()  # this process only trains: let malloc keep the blocks each step frees
    h, _ = runs.train(cfg, profile=profile, device=device)
    print(h.summary())
    if a.out is not None:
        if not h.epochs:
            print(f"没有完成任何迭代周期：没有写 {a.out}")
        else:
            path = h.save(a.out)  # an interrupted run goes to <name>.interrupted.json, never over a.out
            print(f"写好了 {path}" + ("（中断的运行不写进 --out 指定的文件，那个名字只留给完整的运行）"
                                      if h.interrupted else ""))
    return 130 if h.interrupted else 0


def _record(a) -> int:
    import torch
    from . import runs
    profile = "cpu" if a.cpu else "full"
    if profile == "full" and not torch.cuda.is_available():
        raise RuntimeError("record 只记录在 CUDA GPU 上用 full 配置训练的运行，而 torch 在这里看不到 GPU："
                           "到 GPU 机器上运行它，或者用 `record --cpu` 记录 CPU 运行")
    configs = runs.RECORDED[profile]
    known = {runs.sized(c, profile).name(): c for c in configs}
    unknown = [n for n in a.names if n not in known]
    if unknown:
        raise ValueError(f"本书没有名为 {', '.join(unknown)} 的运行：可选 {', '.join(known)}")
    todo = [known[n] for n in a.names] or [c for c in configs if runs.recorded(c, profile) is None]
    if not todo:
        print(f"本书 {profile} 配置的运行都已记录；写出名字可以重新记录")
    if a.cpu:
        from .train import keep_freed_memory
        keep_freed_memory()  # this process only trains: let malloc keep the blocks each step frees
    for cfg in todo:
        with_model = cfg == runs.INSIDE and profile == "cpu"   # 06 looks inside this one
        h, net = runs.train(cfg, profile=profile, device="cpu" if a.cpu else "cuda", progress=False,
                            predict=with_model)
        print(h.summary(), flush=True)
        if h.interrupted:
            raise RuntimeError("运行被中断：什么也没有记录")
        print(f"写好了 {h.save(runs.record_path(cfg, profile))}", flush=True)
        if with_model:
            print(f"写好了 {runs.save_weights(net, h, 'features')} 和 {runs.save_weights(net, h, 'model')}",
                  flush=True)
    return 0


def _dispatch(a) -> int:
    if a.command == "train":
        return _train(a)
    if a.command == "record":
        return _record(a)
    if a.command == "compare":
        from . import runs
        problems = runs.compare(a.retrained, tolerance=a.tolerance, require_all=not a.allow_missing)
        print("\n".join(problems) if problems else "重新训练的运行都与记录相符")
        return 1 if problems else 0
    from .data import find_data, load_fashion_mnist
    folder = find_data(download=True)
    d = load_fashion_mnist(folder)
    print(f"Fashion-MNIST 在 {folder} 中，校验通过：{len(d.train_labels):,} 张训练图像，"
          f"{len(d.test_labels):,} 张测试图像")
    return 0


def _stop(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


_INTERRUPTED = []


def _interrupt(signum, frame):
    """Python's own Ctrl-C (KeyboardInterrupt), remembered: an import it cuts short can fail later with an
    ImportError instead (numpy refuses to load its half-loaded extension a second time)."""
    _INTERRUPTED.append(signum)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    _INTERRUPTED.clear()
    previous = signal.signal(signal.SIGINT, _interrupt)
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:  # Ctrl-C before training starts (while torch loads, say); training keeps its epochs
        print("已停止（Ctrl-C）。", file=sys.stderr)
        return 130
    except ImportError:
        if not _INTERRUPTED:
            raise
        print("已停止（Ctrl-C）。", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)


def _main(argv: list[str]) -> int:
    traceback = "--traceback" in argv
    previous = signal.signal(signal.SIGTERM, _stop)  # a kill or a timeout ends training as Ctrl-C does
    try:
        from . import runs  # torch loads here: a few seconds
        from .train import PRECISIONS
        with _chinese_argparse():
            a = _parser(runs.ARCHS, runs.PROFILES, PRECISIONS).parse_args([x for x in argv if x != "--traceback"])
        return _dispatch(a)
    except (ValueError, OSError, RuntimeError, FloatingPointError) as e:  # they name the problem and the fix
        if traceback:
            raise
        advice = ("：运行已停止；试试更小的学习率（本章用 0.05）或批量规范化"
                  if isinstance(e, FloatingPointError) else "")
        print(f"错误：{e}{advice}\n（加上 --traceback 可看完整的回溯）", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    status = main()
    if _INTERRUPTED:
        # A Ctrl-C that lands inside torch's import can leave CPython believing a Ctrl-C went uncaught, and
        # the interpreter then ends by killing itself with SIGINT (status -2) instead of exiting 130 (seen
        # in about one start-up in six here). Files are closed by now: leave with the status directly.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)
