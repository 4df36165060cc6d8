#!/usr/bin/env python3
"""Generate a deterministic corpus of realistic masscast pipelines.

Usage: gen_corpus.py OUTDIR [--count 2000] [--seed 1] [--shape tag|inline]

Writes the pipelines to OUTDIR/pipelines/ and the media files they upload (a few hundred
bytes each, with the right magic bytes) to OUTDIR/assets/.

Two shapes:
- `tag` (the default): `account: brand-main` from masscast.yaml, 4-8 steps, about one
  expression per step.
- `inline`: an inline `account` mapping (`app_id`, `app_secret: ${{ secrets.… }}`, `kind`),
  one or two previews in every file, and 3-4 expressions per step (an `if` on every step,
  and expressions in titles, texts, digests, `towxname`).

Every file is a valid pipeline per /work/shared/design/pipeline-format.md (version 1):
a comment header, `version`, a unique `name`, `description`, `account: brand-main`,
`inputs`, an optional `schedule`, `defaults`, and 4-8 steps drawn from the step catalog
(media/upload, media/uploadvideo, media/uploadnews, mass/sendall, mass/preview,
mass/wait, mass/get, mass/delete). Expressions only reference inputs that are declared,
steps listed earlier, and outputs that the referenced step kind produces. Plain YAML only:
no anchors, aliases or tags; integers for integer fields; booleans only `true`/`false`;
no trailing `#` comment after a plain scalar inside `with` (the format warns on that).

The same (count, seed) always yields byte-identical files. Prints a one-line summary
(file count, total and mean size) to stdout.
"""

import argparse
import json
import os
import random
import re
import sys

# ---------------------------------------------------------------------------
# Vocabulary (Chinese WeChat copy is the common case; some English for variety)

CAMPAIGNS = [
    "autumn", "spring", "summer", "winter", "double11", "618", "newyear", "midautumn",
    "dragonboat", "qixi", "backtoschool", "anniversary", "members", "vip", "flash",
    "weekly", "monthly", "launch", "clearance", "preview", "tea", "coffee", "skincare",
    "outdoor", "kids", "pets", "travel", "books", "fitness", "home",
]
TOPICS = [
    "video-launch", "news-digest", "image-drop", "voice-note", "text-notice",
    "product-tour", "store-opening", "live-recap", "coupon", "survey", "event",
    "course", "recipe", "interview", "behind-the-scenes",
]
TITLES = [
    "群发视频", "秋季新品发布", "会员专享福利", "本周精选", "新店开业啦", "直播回顾",
    "限时优惠来袭", "用户故事", "幕后花絮", "年度盘点", "新品试用招募", "中秋礼盒上线",
    "Spring collection", "Weekly digest", "Behind the scenes", "Member day",
    "一分钟看懂新功能", "品牌周年庆", "早鸟价最后三天", "双十一预热",
]
SENTENCES = [
    "感谢一路以来的支持。", "本次活动仅限会员参与。", "点击阅读原文了解详情。",
    "优惠券数量有限，先到先得。", "我们把最受欢迎的五款产品放在了一起。",
    "欢迎在评论区留下你的想法。", "新品将于本周五正式开售。", "视频时长约三分钟。",
    "今年的礼盒设计灵感来自江南园林。", "全国门店同步上线。", "活动最终解释权归品牌所有。",
    "Thanks for reading.", "Limited stock, first come first served.",
    "See you at the store this weekend.", "Reply 1 to get the coupon code.",
    "你好吗?", "记得按时领取积分。", "直播间将抽取十位幸运粉丝。",
]
HASHTAGS = ["#话题#", "#新品#", "#会员日#", "#秋季上新#", "#直播#", "#福利#"]
AUTHORS = ["编辑部", "品牌部", "小编", "市场部 Anna", "Li Wei", "内容团队", "运营中心"]
DESCRIPTIONS = [
    "{c} {t} to VIP followers; never leave a reprint online.",
    "{c} {t} for tagged followers, with a preview to the editor first.",
    "Weekly {t} broadcast for the {c} campaign.",
    "{c} campaign: {t}. Owned by the content team, reviewed in pull requests.",
    "{t} for the {c} audience; pulled back if the copyright check fails.",
    "{c} {t}, sent in the evening window.",
]
EDITORS = ["editor_01", "editor_02", "brand_review", "content_lead", "ops-oncall"]
ASSET_EXT = {"video": "mp4", "image": "jpg", "voice": "mp3", "thumb": "jpg"}
# The first bytes `validate` tells each media type by.
MAGIC = {"jpg": b"\xff\xd8\xff\xe0", "mp4": b"\x00\x00\x00\x18ftypmp42", "mp3": b"ID3\x04\x00"}

# Strings that some YAML schema (1.1 or 1.2) would resolve to a non-string.
_NON_STRING = re.compile(
    r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|"
    r"on|On|ON|off|Off|OFF|y|Y|n|N|[-+]?[0-9][0-9_:.eExXoObB+-]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_INDICATOR_START = set("-?:,[]{}#&*!|>'\"%@`")


def _plain_ok(s: str, flow: bool = False) -> bool:
    """True if `s` can be written as a plain scalar and reads back as the same string."""
    if not s or s != s.strip() or "\n" in s:
        return False
    if s[0] in _INDICATOR_START:
        return False
    if ": " in s or "#" in s or s.endswith(":"):
        return False
    if flow and any(ch in s for ch in ",[]{}"):
        return False
    if _NON_STRING.match(s):
        return False
    return True


def q(s: str) -> str:
    """A double-quoted YAML scalar (JSON string syntax is valid YAML double-quoted)."""
    return json.dumps(s, ensure_ascii=False)


def scalar(s: str, flow: bool = False) -> str:
    """A string scalar: plain when that is safe, double-quoted otherwise."""
    return s if _plain_ok(s, flow) else q(s)


def expr(body: str) -> str:
    return "${{ " + body + " }}"


# ---------------------------------------------------------------------------

class Pipeline:
    """Builds one pipeline file; keeps track of steps so that references stay valid."""

    def __init__(self, rng: random.Random, index: int):
        self.rng = rng
        self.index = index
        self.lines: list[str] = []
        self.steps: list[tuple[str, str]] = []  # (id, uses), in order
        self.ids: set[str] = set()

    notify_share = 0.3  # files that declare `notify_editor`
    previews = False  # a preview in every file

    def account(self) -> None:
        self.emit("account: brand-main")

    def extra_inputs(self) -> None:
        pass

    def author(self) -> str:
        return scalar(self.rng.choice(AUTHORS))

    # -- helpers ------------------------------------------------------------
    def emit(self, line: str = "") -> None:
        self.lines.append(line)

    def new_id(self, base: str) -> str:
        style = self.rng.random()
        if style < 0.12:
            base = base.replace("-", "_")
        elif style < 0.16:
            base = "_" + base.replace("-", "_")
        sid, n = base, 2
        while sid in self.ids:
            sid = f"{base}{n}" if style < 0.5 else f"{base}-{n}"
            n += 1
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", sid), sid
        self.ids.add(sid)
        return sid

    def text(self, lo: int, hi: int, tags: bool = False) -> str:
        parts = [self.rng.choice(SENTENCES) for _ in range(self.rng.randint(lo, hi))]
        if tags and self.rng.random() < 0.5:
            parts.insert(self.rng.randrange(len(parts) + 1), self.rng.choice(HASHTAGS))
        return "".join(p if p[-1] in "。?" or p.startswith("#") else p + " " for p in parts).strip()

    def step_header(self, sid: str, uses: str, *, needs=None, cond=None,
                    continue_on_error=False, timeout=None, retry=None, comment=None) -> None:
        if comment:
            self.emit(f"  # {comment}")
        self.emit(f"  - id: {sid}")
        self.emit(f"    uses: {uses}")
        if needs is not None:
            self.emit(f"    needs: [{', '.join(needs)}]")
        if cond is not None:
            self.emit(f"    if: {cond}")
        if continue_on_error:
            self.emit("    continue_on_error: true")
        if timeout is not None:
            self.emit(f"    timeout: {timeout}")
        if retry is not None:
            self.emit(f"    retry: {retry}")
        self.emit("    with:")
        self.steps.append((sid, uses))

    def maybe_needs(self) -> list[str] | None:
        # Occasionally an explicit `needs` on earlier steps (fan-in / parallel branches).
        if len(self.steps) >= 2 and self.rng.random() < 0.12:
            k = self.rng.randint(1, min(2, len(self.steps)))
            return [s for s, _ in self.rng.sample(self.steps, k)]
        return None

    # -- steps --------------------------------------------------------------
    def upload(self, kind: str, base: str = "upload") -> str:
        sid = self.new_id(base)
        self.step_header(sid, "media/upload", timeout=self.rng.choice([None, None, "2m", "90s"]))
        stem = self.rng.choice(["autumn", "cover", "launch", "banner", "clip", "promo", "intro"])
        self.emit(f"      type: {kind}")
        self.emit(f"      file: ../assets/{stem}-{self.index % 97}.{ASSET_EXT[kind]}")
        return sid

    def uploadvideo(self, upload_id: str) -> str:
        sid = self.new_id("video")
        self.step_header(sid, "media/uploadvideo")
        self.emit(f"      media_id: {expr(f'steps.{upload_id}.outputs.media_id')}")
        title = self.rng.choice(TITLES)
        if self.rng.random() < 0.3:
            self.emit(f"      title: {expr('inputs.campaign')} {title}")
        else:
            self.emit(f"      title: {scalar(title)}")
        self.emit(f"      description: {scalar(self.text(1, 3, tags=True))}")
        return sid

    def uploadnews(self, thumb_ids: list[str]) -> str:
        sid = self.new_id("news")
        self.step_header(sid, "media/uploadnews", timeout=self.rng.choice([None, "45s"]))
        self.emit("      articles:")
        for thumb_id in thumb_ids:
            self.emit(f"        - title: {scalar(self.rng.choice(TITLES))}")
            self.emit(f"          thumb_media_id: {expr(f'steps.{thumb_id}.outputs.media_id')}")
            self.emit(f"          author: {self.author()}")
            self.emit(f"          digest: {scalar(self.text(1, 3))}")
            style = self.rng.random()
            body = self.text(2, 6, tags=True)
            if style < 0.25:
                # A block scalar: the usual way to write longer HTML copy.
                self.emit("          content: |")
                self.emit(f"            <p>{body}</p>")
                self.emit(f"            <p>{self.text(1, 3)}</p>")
            elif style < 0.5:
                # Inline style attribute: contains ": ", so it must be quoted.
                html = '<p style="color: #333">' + body + "</p>"
                self.emit(f"          content: {scalar(html)}")
            else:
                html = "<p>" + body + "</p>"
                self.emit(f"          content: {scalar(html)}")
            self.emit(f"          show_cover_pic: {self.rng.randint(0, 1)}")
        return sid

    def payload(self, msgtype: str, media: list[str], indent: str, preview: bool = False) -> None:
        """The msgtype key and its payload for sendall/preview, as in the WeChat request body.

        Images: a mass send is `msgtype: image` with an `images: { media_ids: [...] }`
        payload; a preview is `msgtype: image` with a single `image: { media_id }`.
        """
        self.emit(f"{indent}msgtype: {msgtype}")
        if msgtype == "image" and preview:
            self.emit(f"{indent}image:")
            self.emit(f"{indent}  media_id: {expr(f'steps.{media[0]}.outputs.media_id')}")
            return
        if msgtype == "text":
            content = self.text(1, 3, tags=True)
            if self.rng.random() < 0.4:
                content = f"{expr('inputs.campaign')} {content}"
            self.emit(f"{indent}text:")
            self.emit(f"{indent}  content: {scalar(content)}")
        elif msgtype in ("mpnews", "voice", "mpvideo"):
            ref = expr(f"steps.{media[0]}.outputs.media_id")
            if self.rng.random() < 0.5:
                self.emit(f"{indent}{msgtype}:")
                self.emit(f"{indent}  media_id: {ref}")
            else:
                # Flow style: the expression must be quoted inside `{ }`.
                self.emit(f"{indent}{msgtype}: {{ media_id: {q(ref)} }}")
        elif msgtype == "image":
            refs = [expr(f"steps.{m}.outputs.media_id") for m in media]
            self.emit(f"{indent}images:")
            if self.rng.random() < 0.5:
                self.emit(f"{indent}  media_ids:")
                for r in refs:
                    self.emit(f"{indent}    - {r}")
            else:
                self.emit(f"{indent}  media_ids: [{', '.join(q(r) for r in refs)}]")
            self.emit(f"{indent}  recommend: {q(self.text(1, 1, tags=True))}")
            self.emit(f"{indent}  need_open_comment: {self.rng.randint(0, 1)}")
            self.emit(f"{indent}  only_fans_can_comment: 0")
        else:
            raise ValueError(msgtype)

    def sendall(self, msgtype: str, media: list[str], continue_on_error: bool) -> str:
        sid = self.new_id("send")
        retry = None
        if self.rng.random() < 0.2:
            retry = "{ max_attempts: 3, initial_delay: 2s, factor: 2, max_delay: 30s, jitter: equal }"
        self.step_header(sid, "mass/sendall", needs=self.maybe_needs(),
                         continue_on_error=continue_on_error, retry=retry,
                         comment=self.rng.choice([None, "the irreversible step", "sends to the tag"]))
        if self.rng.random() < 0.85:
            self.emit("      filter:")
            self.emit("        is_to_all: false")
            self.emit(f"        tag_id: {expr('inputs.tag_id')}")
        else:
            self.emit(f"      filter: {{ is_to_all: false, tag_id: {self.rng.randint(100, 180)} }}")
        self.payload(msgtype, media, "      ")
        self.emit(f"      send_ignore_reprint: {self.rng.choice([0, 0, 0, 1])}")
        return sid

    def preview(self, msgtype: str, media: list[str], cond: str | None = None) -> str:
        fallback = cond is not None and "errcode" in cond
        sid = self.new_id("preview-instead" if fallback else "preview")
        self.step_header(sid, "mass/preview", cond=cond, needs=None if fallback else self.maybe_needs())
        self.emit(f"      towxname: {self.rng.choice(EDITORS)}")
        self.payload(msgtype, media, "      ", preview=True)
        return sid

    def wait(self, send_id: str) -> str:
        sid = self.new_id(self.rng.choice(["finish", "wait", "done"]))
        self.step_header(sid, "mass/wait")
        self.emit(f"      msg_id: {expr(f'steps.{send_id}.outputs.msg_id')}")
        self.emit(f"      timeout: {self.rng.choice(['2h', '2h', '90m', '6h'])}")
        if self.rng.random() < 0.5:
            self.emit(f"      poll_interval: {self.rng.choice(['30s', '1m', '5m'])}")
        if self.rng.random() < 0.4:
            self.emit(f"      source: {self.rng.choice(['auto', 'poll', 'callback'])}")
        return sid

    def get(self, send_id: str) -> str:
        sid = self.new_id("check")
        self.step_header(sid, "mass/get", continue_on_error=self.rng.random() < 0.1)
        self.emit(f"      msg_id: {expr(f'steps.{send_id}.outputs.msg_id')}")
        return sid

    def delete(self, send_id: str, check_id: str | None, wait_id: str | None) -> str:
        sid = self.new_id("pull-back")
        conds = []
        if check_id:
            conds.append(f"steps.{check_id}.outputs.msg_status == 'SEND_SUCCESS'")
        if wait_id and self.rng.random() < 0.6:
            conds.append(f"steps.{wait_id}.outputs.copyright_check_state == 2")
        cond = expr(" && ".join(conds)) if conds else None
        self.step_header(sid, "mass/delete", cond=cond)
        self.emit(f"      msg_id: {expr(f'steps.{send_id}.outputs.msg_id')}")
        self.emit("      article_idx: 0")
        return sid

    # -- the whole file -----------------------------------------------------
    def build(self) -> tuple[str, str]:
        rng = self.rng
        campaign = rng.choice(CAMPAIGNS)
        topic = rng.choice(TOPICS)
        name = f"{campaign}-{topic}-{self.index:04d}"
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", name), name

        self.emit("# yaml-language-server: $schema=../schemas/pipeline.schema.json")
        self.emit(f"# {campaign} / {topic}: generated by Benchmarks/validate/gen_corpus.py")
        if rng.random() < 0.5:
            self.emit("# Owner: content team. Reviewed on every pull request; sends are irreversible.")
        self.emit("version: 1")
        self.emit(f"name: {name}" + ("            # unique in the repository" if rng.random() < 0.3 else ""))
        desc = rng.choice(DESCRIPTIONS).format(c=campaign.capitalize(), t=topic.replace("-", " "))
        self.emit(f"description: {scalar(desc)}")
        self.campaign = campaign
        self.account()
        self.emit("inputs:")
        self.emit(f"  tag_id: {{ type: integer, default: {rng.randint(100, 180)}, description: Audience tag }}")
        self.emit(f"  campaign: {{ type: string, default: {campaign}-{2025 + rng.randint(0, 2)}, "
                  f"description: Campaign label }}")
        self.notify = rng.random() < self.notify_share
        if self.notify:
            self.emit("  notify_editor: { type: boolean, default: true, description: Preview to the editor }")
        self.extra_inputs()
        if rng.random() < 0.7:
            month, day = rng.randint(1, 12), rng.randint(1, 28)
            start = rng.choice([8, 9, 10, 18])
            off = rng.choice(["+08:00", "+08:00", "+00:00", "-05:00", "+09:00"])
            self.emit("schedule:")
            self.emit(f'  not_before: "2026-{month:02d}-{day:02d}T{start:02d}:00:00{off}"')
            self.emit(f'  not_after: "2026-{month:02d}-{day:02d}T{start + rng.randint(2, 5):02d}:30:00{off}"')
        self.emit("defaults:")
        self.emit(f"  timeout: {rng.choice(['30s', '30s', '20s', '1m'])}")
        self.emit(f"  retry: {{ max_attempts: {rng.randint(3, 6)}, initial_delay: 1s, factor: 2, "
                  f"max_delay: 1m, jitter: {rng.choice(['full', 'full', 'equal', 'none'])} }}")
        self.emit("steps:")

        kind = rng.choice(["video", "video", "news", "news", "images", "voice", "text"])
        media: list[str] = []
        if kind == "video":
            up = self.upload("video")
            media = [self.uploadvideo(up)]
            msgtype = "mpvideo"
        elif kind == "news":
            # One cover per article; an article may reuse the first cover.
            covers = [self.upload("thumb", "cover") for _ in range(rng.randint(1, 2))]
            thumbs = [rng.choice(covers) for _ in range(rng.randint(len(covers), 3))]
            media = [self.uploadnews(thumbs)]
            msgtype = "mpnews"
        elif kind == "images":
            media = [self.upload("image", "img") for _ in range(rng.randint(1, 3))]
            msgtype = "image"
        elif kind == "voice":
            media = [self.upload("voice")]
            msgtype = "voice"
        else:
            msgtype = "text"

        # Plan the rest, then keep the total within 4-8 steps.
        deletable = msgtype in ("mpnews", "mpvideo")  # only these can be pulled back
        plan = {
            "preview": rng.random() < (0.9 if msgtype == "text" else 0.55),
            "fallback": msgtype == "mpnews" and rng.random() < 0.45,
            "wait": rng.random() < 0.9,
            "get": rng.random() < 0.85,
            "delete": deletable and rng.random() < 0.85,
            "audit": rng.random() < 0.1,
        }
        count = lambda: len(self.steps) + 1 + sum(plan.values())  # noqa: E731
        if self.previews:
            plan["preview"] = True
            plan["audit"] = False
        for optional in ("audit", "fallback", "preview"):
            if count() > 8:
                plan[optional] = False
        for needed in ("wait", "get", "preview", "audit"):
            if count() < 4:
                plan[needed] = True

        if plan["preview"]:
            self.preview(msgtype, media, cond=expr("inputs.notify_editor") if self.notify else None)
            if self.previews and count() < 8 and rng.random() < 0.5:
                self.preview(msgtype, media)  # a second reviewer
        send = self.sendall(msgtype, media, continue_on_error=plan["fallback"])
        if plan["fallback"]:
            self.preview(msgtype, media, cond=expr(f"steps.{send}.errcode == 48008"))
        wait_id = self.wait(send) if plan["wait"] else None
        check_id = self.get(send) if plan["get"] else None
        if plan["delete"]:
            self.delete(send, check_id, wait_id)
        if plan["audit"]:
            # A later status check, e.g. after the pull-back window.
            self.get(send)
        assert 4 <= len(self.steps) <= 8, len(self.steps)
        return name, "\n".join(self.lines) + "\n"


class InlinePipeline(Pipeline):
    """The `inline` shape: an inline account, previews in every file, 3-4 expressions a step."""

    notify_share = 1.0
    previews = True

    CONDITIONS = [
        "inputs.tag_id > 0",
        "inputs.tag_id >= 100 && inputs.notify_editor",
        "startsWith(inputs.campaign, '{c}') || inputs.tag_id != 0",
        "length(inputs.campaign) > 3 && !contains(inputs.campaign, 'test')",
        "success() && inputs.editor != ''",
        "inputs.notify_editor || inputs.tag_id < 1000",
    ]

    def condition(self) -> str:
        body = self.rng.choice(self.CONDITIONS).format(c=self.campaign[:3])
        if self.steps and self.rng.random() < 0.5:
            sid, uses = self.rng.choice(self.steps)
            body = f"({body}) && steps.{sid}.outcome != 'failure'"
        return expr(body)

    def step_header(self, sid: str, uses: str, *, cond=None, **kw) -> None:
        if cond is None:
            cond = self.condition()
        super().step_header(sid, uses, cond=cond, **kw)

    def text(self, lo: int, hi: int, tags: bool = False) -> str:
        base = super().text(lo, hi, tags)
        if self.rng.random() < 0.5:
            return f"{expr('inputs.campaign')} {base}"
        return expr("format('{0} · {1}', inputs.campaign, pipeline.name)") + " " + base

    def uploadvideo(self, upload_id: str) -> str:
        sid = self.new_id("video")
        self.step_header(sid, "media/uploadvideo")
        self.emit(f"      media_id: {expr(f'steps.{upload_id}.outputs.media_id')}")
        self.emit(f"      title: {expr('inputs.campaign')} {self.rng.choice(TITLES)}")
        self.emit(f"      description: {scalar(self.text(1, 3, tags=True))}")
        return sid

    def preview(self, msgtype: str, media: list[str], cond: str | None = None) -> str:
        fallback = cond is not None and "errcode" in cond
        sid = self.new_id("preview-instead" if fallback else "preview")
        self.step_header(sid, "mass/preview", cond=cond, needs=None if fallback else self.maybe_needs())
        self.emit(f"      towxname: {expr('inputs.editor')}")
        self.payload(msgtype, media, "      ", preview=True)
        return sid

    def account(self) -> None:
        rng = self.rng
        self.emit("account:")
        if rng.random() < 0.5:
            self.emit(f"  app_id: wx{rng.getrandbits(64):016x}")
        else:
            self.emit(f"  app_id: {expr('env.BRAND_APP_ID')}")
        self.emit(f"  app_secret: {expr('secrets.' + rng.choice(['APP_SECRET', 'BRAND_SECRET', 'MP_SECRET']))}"
                  + ("   # never a literal" if rng.random() < 0.3 else ""))
        self.emit(f"  kind: {rng.choice(['service', 'service', 'subscription'])}")

    def author(self) -> str:
        return expr("inputs.editor")

    def extra_inputs(self) -> None:
        self.emit(f"  editor: {{ type: string, default: {self.rng.choice(EDITORS)}, description: Who gets previews }}")


def with_warning(text: str) -> str:
    """The file with one warning: the last step without `needs` gets `needs: [FIRST, FIRST]`
    (MC4006, the same step twice in `needs`). Nothing else changes."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("  - id: ")]
    first = lines[starts[0]][len("  - id: "):]
    for k in range(len(starts) - 1, 0, -1):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        block = lines[starts[k]:end]
        if not any(line.startswith("    needs:") for line in block):
            at = starts[k] + 2  # after `- id:` and `uses:`
            assert lines[at - 1].startswith("    uses: "), lines[at - 1]
            lines.insert(at, f"    needs: [{first}, {first}]")
            return "\n".join(lines)
    raise AssertionError("no step without needs")

def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shape", choices=["tag", "inline"], default="tag")
    ap.add_argument("--warnings", action="store_true",
                    help="give every file one warning (MC4006, a step twice in `needs`), to time rendering")
    args = ap.parse_args(argv)

    # The pipelines go to OUTDIR/pipelines/, the media they upload to OUTDIR/assets/
    # (`validate` reads each named file: it must exist, inside the repository, with the
    # magic bytes of its type).
    pipelines_dir = os.path.join(args.outdir, "pipelines")
    assets_dir = os.path.join(args.outdir, "assets")
    os.makedirs(pipelines_dir, exist_ok=True)
    os.makedirs(assets_dir, exist_ok=True)
    assets: set[str] = set()
    rng = random.Random(args.seed)
    sizes = []
    exprs = steps = 0
    for i in range(1, args.count + 1):
        name, text = (InlinePipeline if args.shape == "inline" else Pipeline)(rng, i).build()
        if args.warnings:
            text = with_warning(text)
        data = text.encode("utf-8")
        with open(os.path.join(pipelines_dir, f"{name}.yaml"), "wb") as f:
            f.write(data)
        assets.update(re.findall(r"file: \.\./assets/(\S+)", text))
        sizes.append(len(data))
        exprs += text.count("${{")
        steps += text.count("\n  - id: ")
    for asset in sorted(assets):
        with open(os.path.join(assets_dir, asset), "wb") as f:
            f.write(MAGIC[asset.rsplit(".", 1)[1]] + bytes(256))
    total = sum(sizes)
    print(f"files={len(sizes)} total_bytes={total} mean_bytes={total / max(1, len(sizes)):.0f} "
          f"min_bytes={min(sizes)} max_bytes={max(sizes)} steps={steps} "
          f"expressions_per_step={exprs / max(1, steps):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
