# -*- coding: utf-8 -*-
"""wechatpy 1.8.18 against the masscast sandbox, as an application would use it.

Mass sends of every kind to a tag and to a list of OpenIDs, previews, get_mass as jobs
progress, delete_mass, uploads, tokens, the errors wechatpy surfaces, and the
MASSSENDJOBFINISH pushes received, verified and decrypted by a wechatpy-based handler.

wechatpy 1.8.18 sends the legacy shapes of older official docs (`filter.group_id`, a
single `image{media_id}`); the sandbox accepts them as their current equivalents and logs
them as legacy. Each send is checked in `GET /sandbox/sends`: exactly one send per call,
its audience, its msgtype and whether (and which) legacy shapes it used.
"""
from __future__ import annotations

import json
import struct
import time
import urllib.request

import pytest
import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException, WeChatClientException
from wechatpy.utils import check_signature

from conftest import MAIN, NEWS, TRIAL, REVIEW_SANDBOX_SECONDS, TIME_SCALE, CLIENTMSGID_RETRY_WINDOW, SandboxWeChatClient

# The 20 OpenIDs of audiences/vip-openids.txt: followers of brand-main, members of tag 100.
VIP = [
    "o4WmZ0C2lUFynUYDK9SGewL2AGe4", "o4WmZ0Ae_yHC3A_lCbFs83cEDU3q", "o4WmZ0LyjjjBGiqRbC5o-X2a7cZm",
    "o4WmZ0P1gaAWtceE6oqXlDu_zoXY", "o4WmZ0r2mWQizU29xOQGhxn7rgkn", "o4WmZ0li5mp2RDFQR6r7Wih3Qs32",
    "o4WmZ005zXAUekA4cA9-3R4CxEu7", "o4WmZ0dPgdbAfxX6SdyzFYxi8Q6K", "o4WmZ0EBLHNiNxPySpqqGD_1owuY",
    "o4WmZ0tc-bBe88RIJJe2fDkMPsX5", "o4WmZ0B-P7cxj4RCcHLsXnavplOF", "o4WmZ096kc7rhxlAzouFw2NAw_Mo",
    "o4WmZ0iXeupmUQ8g_TuX5lDNSYD3", "o4WmZ06DbXt3WgA06QX7hDwYosjc", "o4WmZ09kMSgdzVDBF5iGkYqZjrS7",
    "o4WmZ0ti9xF-MuXyKhRQ-fMngWdb", "o4WmZ0Q7qHnkayje3zdDA1rHuAYz", "o4WmZ0fquZBOyrRHOl3FBOLChmVh",
    "o4WmZ0M5oZbV3WrkV-VHQcDN18yi", "o4WmZ0Yh353KcOmhv2aVq5sz7Kcm",
]
# Well formed (28 characters of [A-Za-z0-9_-]) but not a follower: filtered out, not refused.
STRANGER = "oStrangerNotAFollower0000000"
assert len(STRANGER) == 28
VIP_TAG = 100
MISSING_TAG = 999
JOB_TIMEOUT = 15  # wall seconds for a job (about 1 s of review) and its push


# MARK: Media files


def jpeg(size: int) -> bytes:
    head = b"\xff\xd8\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return head + b"\x00" * max(0, size - len(head) - 2) + b"\xff\xd9"


def png(size: int) -> bytes:
    head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return head + b"\x00" * max(0, size - len(head))


def mp3(size: int) -> bytes:
    head = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64"
    return head + b"\x00" * max(0, size - len(head))


def mp4(size: int) -> bytes:
    head = struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2"
    return head + b"\x00" * max(0, size - len(head))


@pytest.fixture(scope="session")
def files(workdir):
    made = {}
    for name, data in {
        "photo.jpg": jpeg(40_000),
        "poster.png": png(30_000),
        "cover.jpg": jpeg(20_000),
        "greeting.mp3": mp3(50_000),
        "clip.mp4": mp4(200_000),
        "inline.png": png(10_000),
        "huge-thumb.jpg": jpeg(70 * 1024),
        "notes.txt": b"not a picture",
    }.items():
        path = workdir / name
        path.write_bytes(data)
        made[name] = path
    return made


def upload(client, media_type, path):
    with open(str(path), "rb") as handle:
        return client.media.upload(media_type, handle)


def upload_news(client, thumb_media_id, count=2, title="Spring sale"):
    articles = [
        {
            "thumb_media_id": thumb_media_id,
            "title": "%s, part %d" % (title, index + 1),
            "content": "<p>Article %d of the wechatpy interop suite.</p>" % (index + 1),
            "author": "masscast",
            "digest": "part %d" % (index + 1),
            "content_source_url": "https://example.com/sale/%d" % (index + 1),
            "show_cover_pic": 1,
        }
        for index in range(count)
    ]
    return client.media.upload_articles(articles)


@pytest.fixture(scope="session")
def media(client, files):
    """Material for the sends, uploaded through wechatpy's media API."""
    image = upload(client, "image", files["photo.jpg"])
    thumb = upload(client, "thumb", files["cover.jpg"])
    voice = upload(client, "voice", files["greeting.mp3"])
    video = upload(client, "video", files["clip.mp4"])
    mpvideo = client.media.upload_video(video["media_id"], "Launch film", "Thirty seconds of launch")
    news = upload_news(client, thumb["thumb_media_id"])
    return {
        "image": image["media_id"],
        "thumb": thumb["thumb_media_id"],
        "voice": voice["media_id"],
        "video": video["media_id"],
        "mpvideo": mpvideo["media_id"],
        "news": news["media_id"],
        "answers": {"image": image, "thumb": thumb, "voice": voice, "video": video, "mpvideo": mpvideo,
                    "news": news},
    }


# MARK: Helpers

# wechatpy's send call of each kind, and the msgtype it sends.
KINDS = {
    "text": ("text", lambda c, to, m, **kw: c.message.send_mass_text(to, "Spring sale starts today", **kw)),
    "article": ("mpnews", lambda c, to, m, **kw: c.message.send_mass_article(to, m["news"], **kw)),
    "video": ("mpvideo", lambda c, to, m, **kw: c.message.send_mass_video(
        to, m["mpvideo"], title="Launch film", description="Thirty seconds of launch", **kw)),
    "image": ("image", lambda c, to, m, **kw: c.message.send_mass_image(to, m["image"], **kw)),
    "voice": ("voice", lambda c, to, m, **kw: c.message.send_mass_voice(to, m["voice"], **kw)),
}


def tag_size(sandbox, tag_id, account=MAIN["name"]):
    tags = {t["id"]: t["count"] for t in sandbox.accounts()[account]["tags"]}
    return tags[tag_id]


def sent(sandbox, ledger, call, account=MAIN["name"]):
    """Runs one wechatpy send call; checks that it was accepted and that exactly one send
    was recorded for it; returns (answer, send record)."""
    before = {s["msg_id"] for s in sandbox.sends(account)}
    answer = call()
    assert answer.get("errcode", 0) == 0, answer
    assert "msg_id" in answer, answer
    msg_id = int(answer["msg_id"])
    new = [s for s in sandbox.sends(account) if s["msg_id"] not in before]
    assert [s["msg_id"] for s in new] == [msg_id], "one call, one send: %s" % new
    ledger[account].append(msg_id)
    return answer, new[0]


def refused(call, errcode):
    with pytest.raises(WeChatClientException) as caught:
        call()
    assert caught.value.errcode == errcode, "expected errcode %s, got %s %s" % (
        errcode, caught.value.errcode, caught.value.errmsg)
    return caught.value


def wait_status(client, msg_id, wanted, timeout=JOB_TIMEOUT):
    """Polls get_mass until the status is in `wanted`; returns every status seen, in order."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        status = client.message.get_mass(msg_id)["msg_status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in wanted:
            return seen
        assert time.monotonic() < deadline, "msg_id %s still %s after %ss" % (msg_id, seen, timeout)
        time.sleep(0.05)


def capture_requests(client):
    """Records the requests wechatpy makes (to show exactly what it sends)."""
    captured = []
    client._http.hooks["response"].append(lambda response, *args, **kwargs: captured.append(response.request))
    return captured


# MARK: Tokens


def test_access_token_from_cgi_bin_token(sandbox, files):
    fresh = SandboxWeChatClient(sandbox.base, MAIN["appid"], MAIN["secret"])
    with open(str(files["inline.png"]), "rb") as handle:
        url = fresh.media.upload_image(handle)
    assert fresh.token_fetches == 1
    assert url.startswith("http://mmbiz.qpic.cn/")
    token = fresh.access_token
    assert isinstance(token, str) and len(token) > 20
    assert fresh.token_fetches == 1, "wechatpy keeps the token while it is valid"


def test_a_garbage_token_is_40001(sandbox):
    """WeChat's common answer to a token it never issued; wechatpy refetches on it."""
    url = sandbox.base + "/cgi-bin/tags/get?access_token=85_garbage-token"
    with urllib.request.urlopen(url, timeout=10) as response:
        answer = json.loads(response.read())
    assert answer["errcode"] == 40001, answer


def test_access_token_from_stable_token(sandbox):
    first = SandboxWeChatClient(sandbox.base, MAIN["appid"], MAIN["secret"], stable=True)
    second = SandboxWeChatClient(sandbox.base, MAIN["appid"], MAIN["secret"], stable=True)
    assert first.access_token == second.access_token, "stable_token returns the same token while it is valid"
    refused(lambda: first.message.get_mass(1), 40059)


def test_wechatpy_refetches_a_revoked_token_and_retries(sandbox, ledger):
    """Another process fetching a token revokes ours (40001): wechatpy fetches a new one
    from the sandbox's /cgi-bin/token and retries the call, which then succeeds."""
    fresh = SandboxWeChatClient(sandbox.base, MAIN["appid"], MAIN["secret"])
    answer, _ = sent(sandbox, ledger, lambda: fresh.message.send_mass_text(VIP[:2], "Token check"))
    revoked = fresh.access_token
    assert fresh.token_fetches == 1
    sandbox.add_faults([{"on": "message/mass/get", "revoke_token": True, "next": 1}])
    try:
        status = fresh.message.get_mass(answer["msg_id"])
    finally:
        sandbox.clear_faults()
    assert int(status["msg_id"]) == int(answer["msg_id"])
    assert status["msg_status"] in ("SENDING", "SEND_SUCCESS")
    assert fresh.token_fetches == 2, "wechatpy fetched a new token after 40001 and retried"
    assert fresh.access_token != revoked
    # The revoked token stays dead.
    refused(lambda: _raw_get_mass(sandbox, revoked), 40001)


# MARK: Tags (read-only)


def test_tag_get_lists_tags_with_follower_counts(client, sandbox):
    token = client.access_token  # fetched now, so that the calls below are only tags/get
    before = max([c["seq"] for c in sandbox.calls()] or [0])
    tags = client.tag.get()
    # The reserved starred tag first, as WeChat lists it; then the fixture's tags.
    assert tags[0] == {"id": 2, "name": "星标组", "count": 0}
    listed = {t["id"]: (t["name"], t["count"]) for t in tags[1:]}
    accounts = {t["id"]: (t["name"], t["count"]) for t in sandbox.accounts()[MAIN["name"]]["tags"]}
    assert listed == accounts
    assert listed[100] == ("vip", tag_size(sandbox, 100))
    calls = sandbox.calls(after=before)
    assert [(c["method"], c["endpoint"], c["read_only"]) for c in calls] == [("GET", "tags/get", True)]
    assert token not in json.dumps(sandbox.calls())


def test_tag_users_page_as_wechat_pages_them(client, sandbox):
    members = list(client.tag.iter_tag_users(100))
    assert len(members) == tag_size(sandbox, 100) == len(set(members))
    first = client.tag.get_tag_users(100)
    assert first["count"] == len(members) and first["data"]["openid"] == members
    assert first["next_openid"] == members[-1]
    # The page after the last member ends the list: count 0, no data.
    end = client.tag.get_tag_users(100, first["next_openid"])
    assert end["count"] == 0 and end["next_openid"] == "" and "data" not in end
    refused(lambda: client.tag.get_tag_users(4242), 45159)
    refused(lambda: client.tag.get_tag_users(100, "o4WmZ0notafolloweroftag100xx"), 40003)


def _raw_get_mass(sandbox, token):
    client = SandboxWeChatClient(sandbox.base, MAIN["appid"], MAIN["secret"])
    client.auto_retry = False  # report the 40001 instead of fetching a new token
    return client.post("message/mass/get", data={"msg_id": 1}, params={"access_token": token})


# MARK: Uploads


def test_uploads_answer_as_wechat_does(media, client, files):
    answers = media["answers"]
    for kind in ("image", "voice", "video"):
        assert answers[kind]["type"] == kind
        assert answers[kind]["media_id"]
        assert isinstance(answers[kind]["created_at"], int)
    assert answers["thumb"]["type"] == "thumb" and "thumb_media_id" in answers["thumb"]
    assert answers["mpvideo"]["type"] == "video"
    assert answers["mpvideo"]["media_id"] != media["video"], "uploadvideo gives a new id for mpvideo"
    assert answers["news"]["type"] == "news"
    png_answer = upload(client, "image", files["poster.png"])
    assert png_answer["type"] == "image"
    with open(str(files["inline.png"]), "rb") as handle:
        assert client.media.upload_mass_image(handle).startswith("http://mmbiz.qpic.cn/")  # media/uploadimg
    # Only the required article fields: wechatpy fills author, digest, … with "".
    minimal = client.media.upload_articles([{"thumb_media_id": media["thumb"], "title": "T", "content": "<p>C</p>"}])
    assert minimal["type"] == "news" and minimal["media_id"]


def test_upload_limits(client, files):
    refused(lambda: upload(client, "thumb", files["huge-thumb.jpg"]), 40012)  # thumb over 64 KB
    refused(lambda: upload(client, "image", files["notes.txt"]), 40005)  # not a jpg/png
    refused(lambda: client.media.upload_video("no-such-media-id", "t", "d"), 40007)


# MARK: Mass sends


@pytest.mark.parametrize("kind", list(KINDS))
def test_send_to_tag(kind, client, sandbox, media, ledger):
    msgtype, call = KINDS[kind]
    answer, record = sent(sandbox, ledger, lambda: call(client, VIP_TAG, media))
    size = tag_size(sandbox, VIP_TAG)
    assert record["endpoint"] == "sendall"
    assert record["msgtype"] == msgtype
    assert record["tag_id"] == VIP_TAG and record["is_to_all"] is False
    assert record["audience"] == size and record["filter_count"] == size
    assert record["status"] == "SENDING"
    # wechatpy 1.8.18 writes filter.group_id (and a single image{media_id}): legacy shapes.
    assert record["legacy"] is True
    expected = ["filter.group_id", "image"] if kind == "image" else ["filter.group_id"]
    assert sorted(record["legacy_shapes"]) == sorted(expected)
    if msgtype == "mpnews":
        assert int(answer["msg_data_id"]) == record["msg_data_id"]
    else:
        assert "msg_data_id" not in answer


@pytest.mark.parametrize("kind", list(KINDS))
def test_send_to_openid_list(kind, client, sandbox, media, ledger):
    msgtype, call = KINDS[kind]
    audience = VIP + [STRANGER]
    answer, record = sent(sandbox, ledger, lambda: call(client, audience, media))
    assert record["endpoint"] == "send"
    assert record["msgtype"] == msgtype
    assert record["audience"] == len(audience)
    assert record["filter_count"] == len(VIP), "the non-follower is filtered out, not refused"
    assert record.get("tag_id") is None and record.get("is_to_all") is None
    if kind == "image":
        assert record["legacy"] is True and record["legacy_shapes"] == ["image"]
    else:
        assert record["legacy"] is False and record["legacy_shapes"] == []


def test_send_to_all_followers(client, sandbox, ledger):
    answer, record = sent(sandbox, ledger, lambda: client.message.send_mass_text(
        None, "To everyone", is_to_all=True))
    followers = sandbox.accounts()[MAIN["name"]]["followers"]
    assert record["endpoint"] == "sendall" and record["is_to_all"] is True
    assert record["audience"] == followers and followers >= 4980


def test_legacy_shapes_are_what_make_wechatpy_work(client, sandbox, media, ledger):
    """What wechatpy sends has no `tag_id` and no `images`: only the legacy rule can accept
    it. The current shapes of the same sends are accepted too and not logged as legacy;
    shapes that are neither are refused."""
    captured = capture_requests(client)
    sent(sandbox, ledger, lambda: client.message.send_mass_image(VIP_TAG, media["image"]))
    body = json.loads(captured[-1].body)
    assert captured[-1].path_url.startswith("/cgi-bin/message/mass/sendall?")
    assert body["filter"] == {"group_id": VIP_TAG, "is_to_all": False}
    assert body["image"] == {"media_id": media["image"]} and "images" not in body

    # The current shapes, posted through the same wechatpy client.
    current = {"filter": {"is_to_all": False, "tag_id": VIP_TAG}, "msgtype": "image",
               "images": {"media_ids": [media["image"]], "recommend": "", "need_open_comment": 0,
                          "only_fans_can_comment": 0}, "send_ignore_reprint": 0}
    _, record = sent(sandbox, ledger, lambda: client.post("message/mass/sendall", data=current))
    assert record["legacy"] is False and record["legacy_shapes"] == []
    assert record["tag_id"] == VIP_TAG and record["audience"] == tag_size(sandbox, VIP_TAG)

    # Neither shape: refused with the documented errors, nothing sent.
    before = len(sandbox.sends())
    refused(lambda: client.post("message/mass/sendall", data={
        "filter": {"is_to_all": False, "group": VIP_TAG}, "msgtype": "text", "text": {"content": "x"}}), 40152)
    refused(lambda: client.post("message/mass/sendall", data={
        "filter": {"is_to_all": False, "tag_id": VIP_TAG}, "msgtype": "image",
        "picture": {"media_id": media["image"]}}), 47001)
    # The legacy group_id must still name an existing tag.
    refused(lambda: client.message.send_mass_text(MISSING_TAG, "to nobody"), 40152)
    assert len(sandbox.sends()) == before


# MARK: get_mass, delete_mass


def test_get_mass_follows_the_job(client, sandbox, ledger):
    answer, record = sent(sandbox, ledger, lambda: client.message.send_mass_text(VIP_TAG, "Status check"))
    msg_id = answer["msg_id"]
    first = client.message.get_mass(msg_id)
    assert int(first["msg_id"]) == int(msg_id)
    assert first["msg_status"] == "SENDING", "in review for about %ss" % (REVIEW_SANDBOX_SECONDS / TIME_SCALE)
    seen = wait_status(client, msg_id, {"SEND_SUCCESS", "SEND_FAIL"})
    assert seen == ["SENDING", "SEND_SUCCESS"]
    # The reference writes msg_id as a string in the request: both are read.
    assert client.message.get_mass(str(msg_id))["msg_status"] == "SEND_SUCCESS"
    assert sandbox.send(msg_id)["status"] == "SEND_SUCCESS"
    job = [j for j in sandbox.jobs() if j["msg_id"] == int(msg_id)][0]
    assert job["phase"] == "done"
    assert job["sent_count"] + job["error_count"] == job["filter_count"] == record["filter_count"]
    refused(lambda: client.message.get_mass(123), 40059)


def test_delete_mass_article_and_every_send_of_its_material(client, sandbox, media, ledger):
    news = upload_news(client, media["thumb"], count=3, title="Flash sale")["media_id"]
    to_tag, _ = sent(sandbox, ledger, lambda: client.message.send_mass_article(VIP_TAG, news))
    to_list, _ = sent(sandbox, ledger, lambda: client.message.send_mass_article(VIP[:5], news))
    # Only after the send succeeded.
    refused(lambda: client.message.delete_mass(to_tag["msg_id"]), 40059)
    wait_status(client, to_tag["msg_id"], {"SEND_SUCCESS"})
    wait_status(client, to_list["msg_id"], {"SEND_SUCCESS"})
    assert client.message.delete_mass(to_tag["msg_id"])["errcode"] == 0
    assert client.message.get_mass(to_tag["msg_id"])["msg_status"] == "DELETE"
    assert sandbox.send(to_tag["msg_id"])["status"] == "DELETE"
    # The same material sent twice: deleting one disables the article in both.
    assert client.message.get_mass(to_list["msg_id"])["msg_status"] == "DELETE"
    refused(lambda: client.message.delete_mass(to_tag["msg_id"]), 40059)


def test_delete_mass_video(client, sandbox, files, ledger):
    video = upload(client, "video", files["clip.mp4"])["media_id"]
    mpvideo = client.media.upload_video(video, "Teaser", "Ten seconds")["media_id"]
    answer, _ = sent(sandbox, ledger, lambda: client.message.send_mass_video(VIP[:3], mpvideo, "Teaser", "Ten"))
    wait_status(client, answer["msg_id"], {"SEND_SUCCESS"})
    assert client.message.delete_mass(answer["msg_id"])["errcode"] == 0
    assert client.message.get_mass(answer["msg_id"])["msg_status"] == "DELETE"


def test_delete_mass_refuses_other_types(client, sandbox, media, ledger):
    text, _ = sent(sandbox, ledger, lambda: client.message.send_mass_text(VIP[:2], "Cannot be deleted"))
    image, _ = sent(sandbox, ledger, lambda: client.message.send_mass_image(VIP[:2], media["image"]))
    wait_status(client, text["msg_id"], {"SEND_SUCCESS"})
    wait_status(client, image["msg_id"], {"SEND_SUCCESS"})
    refused(lambda: client.message.delete_mass(text["msg_id"]), 40059)
    refused(lambda: client.message.delete_mass(image["msg_id"]), 40059)
    refused(lambda: client.message.delete_mass(999999), 40059)


# MARK: preview


@pytest.mark.parametrize("kind", list(KINDS))
def test_preview_to_an_openid(kind, client, sandbox, media):
    msgtype, call = KINDS[kind]
    sends_before = len(sandbox.sends())
    answer = call(client, VIP[0], media, preview=True)
    assert answer["errcode"] == 0 and "msg_id" in answer
    previews = [p for p in sandbox.previews() if p["msg_id"] == int(answer["msg_id"])]
    assert len(previews) == 1
    assert previews[0]["touser"] == VIP[0] and previews[0]["msgtype"] == msgtype
    assert previews[0].get("towxname") is None
    assert len(sandbox.sends()) == sends_before, "a preview is not a mass send"


def test_preview_to_a_wechat_id(client, sandbox, media):
    captured = capture_requests(client)
    answer = client.message.send_mass_image("masscast_tester", media["image"], preview=True)
    body = json.loads(captured[-1].body)
    assert body["towxname"] == "masscast_tester" and "touser" not in body
    assert body["image"] == {"media_id": media["image"]}  # preview's own (single) image form
    record = [p for p in sandbox.previews() if p["msg_id"] == int(answer["msg_id"])][0]
    assert record["towxname"] == "masscast_tester" and record.get("touser") is None


def test_preview_to_a_stranger_is_refused(client):
    refused(lambda: client.message.send_mass_text(STRANGER, "hello", preview=True), 43004)


# MARK: Errors as wechatpy surfaces them


def test_mass_send_to_a_list_needs_a_verified_service_account(news_client):
    refused(lambda: news_client.message.send_mass_text(VIP[:2], "not allowed"), 48001)


def test_mass_sends_need_a_verified_account(trial_client, sandbox, files):
    """An unverified subscription account: sendall answers 48001 whatever the msgtype; a
    preview (to one WeChat ID) is allowed."""
    sends_before = len(sandbox.sends())
    error = refused(lambda: trial_client.message.send_mass_text(VIP_TAG, "not yet"), 48001)
    assert error.errmsg.startswith("api unauthorized")
    refused(lambda: trial_client.message.send_mass_text(None, "to all", is_to_all=True), 48001)
    thumb = upload(trial_client, "thumb", files["cover.jpg"])
    news = upload_news(trial_client, thumb["thumb_media_id"])["media_id"]
    refused(lambda: trial_client.message.send_mass_article(VIP_TAG, news), 48001)
    answer = trial_client.message.send_mass_article("masscast_tester", news, preview=True)
    assert answer["errcode"] == 0 and int(answer["msg_id"]) > 0
    assert len(sandbox.sends()) == sends_before


def test_a_raw_video_id_is_not_an_mpvideo(client, media):
    refused(lambda: client.message.send_mass_video(VIP_TAG, media["video"], "t", "d"), 40007)


def test_openid_list_size_and_shape(client):
    one = refused(lambda: client.message.send_mass_text(VIP[:1], "only one"), 40130)
    assert one.errmsg.startswith("invalid openid list size, at least two openid")
    too_many = ["oTooMany%020d" % n for n in range(10_001)]
    many = refused(lambda: client.message.send_mass_text(too_many, "too many"), 40130)
    assert many.errmsg.startswith("invalid openid list size") and "at least two" not in many.errmsg
    refused(lambda: client.message.send_mass_text([VIP[0], "not an openid"], "bad id"), 40003)


def test_clientmsgid(client, sandbox, ledger):
    key = "wechatpy-suite-%d" % int(time.time() * 1000)
    first, record = sent(sandbox, ledger, lambda: client.message.send_mass_text(
        VIP[:4], "Keyed send", client_msg_id=key))
    assert record["clientmsgid"] == key
    refused(lambda: client.message.send_mass_text(VIP[:4], "Keyed send", client_msg_id=key), 45066)
    time.sleep(CLIENTMSGID_RETRY_WINDOW + 0.3)
    error = refused(lambda: client.message.send_mass_text(VIP[:4], "Keyed send", client_msg_id=key), 45065)
    assert int(error.response.json()["msg_id"]) == int(first["msg_id"]), "45065 names the earlier send"
    assert [s["msg_id"] for s in sandbox.get("/sandbox/sends?clientmsgid=" + key)["sends"]] == [int(first["msg_id"])]
    refused(lambda: client.message.send_mass_text(VIP[:4], "Long key", client_msg_id="k" * 65), 45067)


# MARK: MASSSENDJOBFINISH pushes, received by the wechatpy handler


def test_push_safe_mode_decrypts_with_wechatpy(client, sandbox, receiver, ledger):
    answer, record = sent(sandbox, ledger, lambda: client.message.send_mass_text(VIP_TAG, "Watch the push"))
    msg_id = int(answer["msg_id"])
    [delivery] = receiver.wait_for(msg_id)
    assert delivery["ok"] and delivery["mode"] == "safe"
    assert delivery["query"]["encrypt_type"] == "aes"
    assert "<Encrypt>" in delivery["body"] and "<MsgID>" not in delivery["body"], "safe mode: only ciphertext"
    event = delivery["message"]
    assert type(event).__name__ == "MassSendJobFinishEvent" and event.event == "masssendjobfinish"
    assert event.id == msg_id
    assert event.status == "send success"
    assert event.total_count == record["audience"]
    assert event.filter_count == record["filter_count"]
    assert event.sent_count + event.error_count == event.filter_count
    assert 0 < event.sent_count <= event.filter_count
    assert event.target == "gh_5d1c0e8f7a93"  # ToUserName: the account's original id
    assert abs(event.create_time.timestamp() - time.time()) < 120, "CreateTime follows the wall clock"
    assert client.message.get_mass(msg_id)["msg_status"] == "SEND_SUCCESS"
    # The receiver has the push before the sandbox has its answer: the push stays
    # "delivering" until then.
    sandbox.wait_idle()
    push = [p for p in sandbox.pushes() if p["msg_id"] == msg_id]
    assert len(push) == 1 and push[0]["status"] == "delivered" and push[0]["mode"] == "safe"
    assert [a["ok"] for a in push[0]["attempts"]] == [True]
    assert push[0]["xml"] == delivery["xml"], "the decrypted XML is the XML the sandbox pushed"
    # The handler really checks: msg_signature (not signature) covers the ciphertext, and the
    # plaintext ends with this account's AppID.
    query, body = delivery["query"], delivery["body"]
    assert query["msg_signature"] != query["signature"]
    with pytest.raises(InvalidSignatureException):
        WeChatCrypto("another-token", MAIN["aes_key"], MAIN["appid"]).decrypt_message(
            body, query["msg_signature"], query["timestamp"], query["nonce"])
    with pytest.raises(InvalidSignatureException):
        WeChatCrypto(MAIN["token"], MAIN["aes_key"], MAIN["appid"]).decrypt_message(
            body, query["signature"], query["timestamp"], query["nonce"])
    with pytest.raises(InvalidAppIdException):
        WeChatCrypto(MAIN["token"], MAIN["aes_key"], NEWS["appid"]).decrypt_message(
            body, query["msg_signature"], query["timestamp"], query["nonce"])


def test_push_for_mpnews_carries_article_results(client, sandbox, receiver, media, ledger):
    answer, _ = sent(sandbox, ledger, lambda: client.message.send_mass_article(VIP[:6], media["news"]))
    [delivery] = receiver.wait_for(answer["msg_id"])
    assert delivery["ok"] and delivery["message"].status == "send success"
    xml = xmltodict.parse(delivery["xml"])["xml"]
    assert int(xml["MsgID"]) == int(answer["msg_id"])
    assert int(xml["CopyrightCheckResult"]["Count"]) == 0
    urls = xml["ArticleUrlResult"]
    assert int(urls["Count"]) == 2
    items = urls["ResultList"]["item"]
    assert [int(i["ArticleIdx"]) for i in items] == [1, 2]
    assert all(i["ArticleUrl"].startswith("https://mp.weixin.qq.com/s?") for i in items)


def test_push_is_retried_when_the_handler_fails(client, sandbox, receiver, ledger):
    answer, _ = sent(sandbox, ledger, lambda: client.message.send_mass_text(VIP[:3], "Retry me"))
    msg_id = int(answer["msg_id"])
    with receiver.lock:
        receiver.fail_first[msg_id] = 1  # answer HTTP 500 to the first try
    first, second = receiver.wait_for(msg_id, count=2)
    assert first["answered"] == 500 and second["answered"] == 200
    assert first["xml"] == second["xml"], "the same event, signed afresh"
    assert first["query"]["nonce"] != second["query"]["nonce"]
    sandbox.wait_idle()
    push = [p for p in sandbox.pushes() if p["msg_id"] == msg_id][0]
    assert push["status"] == "delivered" and [a["ok"] for a in push["attempts"]] == [False, True]


def test_push_gives_up_after_three_tries(client, sandbox, receiver, ledger):
    answer, _ = sent(sandbox, ledger, lambda: client.message.send_mass_text(VIP[:3], "Nobody home"))
    msg_id = int(answer["msg_id"])
    with receiver.lock:
        receiver.fail_first[msg_id] = 10
    receiver.wait_for(msg_id, count=3)
    sandbox.wait_idle()
    push = [p for p in sandbox.pushes() if p["msg_id"] == msg_id][0]
    assert push["status"] == "failed" and [a["ok"] for a in push["attempts"]] == [False, False, False]
    assert len(receiver.for_msg(msg_id)) == 3, "3 tries in all, as WeChat"


def test_duplicated_push_arrives_twice(client, sandbox, receiver, ledger):
    sandbox.wait_idle()
    sandbox.add_faults([{"on": "push", "duplicate": True, "next": 1}])
    try:
        answer, _ = sent(sandbox, ledger, lambda: client.message.send_mass_text(VIP[:3], "Twice"))
        first, second = receiver.wait_for(answer["msg_id"], count=2)
    finally:
        sandbox.clear_faults()
    assert first["ok"] and second["ok"]
    assert first["message"].id == second["message"].id == int(answer["msg_id"])
    assert first["xml"] == second["xml"]
    pushes = [p for p in sandbox.pushes() if p["msg_id"] == int(answer["msg_id"])]
    assert sorted(p["duplicate"] for p in pushes) == [False, True]


def test_failed_job_is_pushed_with_its_error(client, sandbox, receiver, ledger):
    sandbox.add_faults([{"on": "job", "err": 20002, "next": 1}])
    try:
        answer, _ = sent(sandbox, ledger, lambda: client.message.send_mass_text(VIP[:3], "Blocked by review"))
    finally:
        sandbox.clear_faults()
    assert wait_status(client, answer["msg_id"], {"SEND_SUCCESS", "SEND_FAIL"})[-1] == "SEND_FAIL"
    [delivery] = receiver.wait_for(answer["msg_id"])
    assert delivery["ok"] and delivery["message"].status == "err(20002)"
    assert delivery["message"].sent_count == 0


def test_push_plain_mode_checks_with_check_signature(news_client, sandbox, receiver, ledger):
    """brand-news is in plain mode: the push is the XML itself, signed with the token."""
    answer, record = sent(sandbox, ledger, lambda: news_client.message.send_mass_text(
        VIP_TAG, "Weekly digest"), account=NEWS["name"])
    assert record["legacy_shapes"] == ["filter.group_id"]
    assert record["audience"] == tag_size(sandbox, VIP_TAG, NEWS["name"])
    [delivery] = receiver.wait_for(answer["msg_id"])
    assert delivery["ok"] and delivery["mode"] == "plain" and delivery["account"] == NEWS["name"]
    assert "encrypt_type" not in delivery["query"] and "msg_signature" not in delivery["query"]
    assert "<Encrypt>" not in delivery["body"]
    # A text push carries the empty CopyrightCheckResult of the seed's example, no ArticleUrlResult.
    parsed = xmltodict.parse(delivery["body"])["xml"]
    assert parsed["CopyrightCheckResult"] == {"Count": "0", "ResultList": None, "CheckState": "0"}
    assert "ArticleUrlResult" not in parsed
    event = delivery["message"]
    assert event.id == int(answer["msg_id"]) and event.status == "send success"
    assert event.total_count == record["audience"]
    assert event.target == "gh_2b7e4f9a0c61"
    query = delivery["query"]
    with pytest.raises(InvalidSignatureException):
        check_signature(MAIN["token"], query["signature"], query["timestamp"], query["nonce"])


def test_push_compatible_mode_carries_both(client, sandbox, receiver, ledger):
    """Compatible mode: the plain XML with an <Encrypt> element added; wechatpy reads both."""
    sandbox.wait_idle()
    sandbox.post("/sandbox/callback", {"account": MAIN["name"], "url": receiver.url(MAIN["name"]),
                                       "mode": "compatible"})
    try:
        answer, _ = sent(sandbox, ledger, lambda: client.message.send_mass_text(VIP[:3], "Both ways"))
        [delivery] = receiver.wait_for(answer["msg_id"])
        sandbox.wait_idle()
    finally:
        sandbox.post("/sandbox/callback", {"account": MAIN["name"], "url": receiver.url(MAIN["name"]),
                                           "mode": "safe"})
    assert delivery["ok"] and delivery["query"]["encrypt_type"] == "aes"
    assert "<Encrypt>" in delivery["body"] and "<MsgID>" in delivery["body"]
    clear = parse_message(delivery["body"])
    assert clear.id == delivery["message"].id == int(answer["msg_id"])
    assert clear.status == delivery["message"].status == "send success"
    assert [p["mode"] for p in sandbox.pushes() if p["msg_id"] == int(answer["msg_id"])] == ["compatible"]


# MARK: At the end: every call made exactly one send, every push verified


def test_every_call_made_exactly_one_send_and_every_push_verified(sandbox, receiver, ledger):
    sandbox.wait_idle()
    for account, msg_ids in ledger.items():
        recorded = [s["msg_id"] for s in sandbox.sends(account)]
        assert sorted(recorded) == sorted(msg_ids), "%s: sends %s, calls %s" % (account, recorded, msg_ids)
        for msg_id in msg_ids:
            assert receiver.for_msg(msg_id), "no push reached the handler for msg_id %s" % msg_id
    assert receiver.errors == []
