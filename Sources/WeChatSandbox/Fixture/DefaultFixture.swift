import Foundation

// Generated from Resources/default-fixture.yaml (a test keeps the two identical): the
// binary must not depend on finding a resource bundle next to it.

extension SandboxFixture {
    /// The text of the default fixture (`Resources/default-fixture.yaml`): a verified service
    /// account `brand-main` (AppID wx8a3f2c71d905be46, 5,000 followers, tags 100 vip, 101
    /// beijing, 102 shanghai, 103 guangzhou, 104 new-followers, safe-mode callback) and an
    /// unverified subscription account `brand-news` (AppID wx3e6b9d2f4a8c1705).
    public static let defaultYAML: String = #"""
# masscast sandbox: the default fixture (what `masscast run --sandbox` runs against).
# Copy it and pass your copy with `masscast sandbox --fixture FILE` to change anything.
# Durations: 500ms, 30s, 5m, 2h, 3d. Quotas: an integer, or `off`.
seed: 1
# Job progress and push timing run 10 times faster than the wall clock; tokens, quotas,
# the clientmsgid windows and push timestamps follow the wall clock.
time_scale: 10
limits: on                  # `off` lifts every quota (benchmarks)
dedupe_keyless: false       # true: a send without clientmsgid is deduplicated by audience + content
windows:
  token_ttl: 2h
  token_overlap: 5m         # /token: the previous token's grace; stable_token: early rotation
  clientmsgid_window: 24h   # a repeat is 45065 with the earlier msg_id
  clientmsgid_retry_window: 1m   # a repeat sooner is 45066
  media_ttl: 3d
  rate_window: 1m
quotas:
  mass_calls_per_minute: 60       # 45011
  sends_per_day: 100              # 45009
  subscription_sendall_per_day: 1 # 45028
  to_all_per_month: 4             # 45028
  follower_messages_per_month: 4  # over it a follower is filtered out (FilterCount)
  uploadnews_per_day: 10          # 45009
  deletes_per_day: 10             # 45009
  previews_per_day: 100           # 45009
  token_calls_per_day: 2000       # 45009
  force_refresh_per_day: 20       # 45009
  force_refresh_spacing: 30s      # 45009
jobs:
  review: 30s               # sandbox time before the first message goes out
  push_delay: 1s            # from the job's end to its MASSSENDJOBFINISH push
  push_timeout: 5s          # wall clock, as WeChat
  push_tries: 3
  push_retry_interval: 5s
  error_rate: 0.002         # share of the filtered audience that fails (ErrorCount)
accounts:
  # A verified service account (认证服务号): every endpoint, mass/send, mpnews.
  brand-main:
    appid: wx8a3f2c71d905be46
    secret: sandbox-secret-brand-main-0001
    kind: service
    verified: true
    original_id: gh_5d1c0e8f7a93
    openid_prefix: o4WmZ0
    speed: 0
    callback:
      # Placeholder: point it at your listener (`masscast listen`), or change it at run
      # time with POST /sandbox/callback {"account":"brand-main","url":"…"}.
      url: http://127.0.0.1:8081/wechat/callback
      token: sandbox-callback-token
      aes_key: lTjyF/U3G2ZnGR7yZn47jiJFJylXlCsD2LjTOzO07Z4
      mode: safe
    followers:
      count: 4980
      seed: 1
      # The 20 OpenIDs of audiences/vip-openids.txt follow the account too.
      list: [o4WmZ0C2lUFynUYDK9SGewL2AGe4, o4WmZ0Ae_yHC3A_lCbFs83cEDU3q, o4WmZ0LyjjjBGiqRbC5o-X2a7cZm,
             o4WmZ0P1gaAWtceE6oqXlDu_zoXY, o4WmZ0r2mWQizU29xOQGhxn7rgkn, o4WmZ0li5mp2RDFQR6r7Wih3Qs32,
             o4WmZ005zXAUekA4cA9-3R4CxEu7, o4WmZ0dPgdbAfxX6SdyzFYxi8Q6K, o4WmZ0EBLHNiNxPySpqqGD_1owuY,
             o4WmZ0tc-bBe88RIJJe2fDkMPsX5, o4WmZ0B-P7cxj4RCcHLsXnavplOF, o4WmZ096kc7rhxlAzouFw2NAw_Mo,
             o4WmZ0iXeupmUQ8g_TuX5lDNSYD3, o4WmZ06DbXt3WgA06QX7hDwYosjc, o4WmZ09kMSgdzVDBF5iGkYqZjrS7,
             o4WmZ0ti9xF-MuXyKhRQ-fMngWdb, o4WmZ0Q7qHnkayje3zdDA1rHuAYz, o4WmZ0fquZBOyrRHOl3FBOLChmVh,
             o4WmZ0M5oZbV3WrkV-VHQcDN18yi, o4WmZ0Yh353KcOmhv2aVq5sz7Kcm]
    tags:
      - id: 100
        name: vip
        fraction: 0.03
        members: [o4WmZ0C2lUFynUYDK9SGewL2AGe4, o4WmZ0Ae_yHC3A_lCbFs83cEDU3q, o4WmZ0LyjjjBGiqRbC5o-X2a7cZm,
                  o4WmZ0P1gaAWtceE6oqXlDu_zoXY, o4WmZ0r2mWQizU29xOQGhxn7rgkn, o4WmZ0li5mp2RDFQR6r7Wih3Qs32,
                  o4WmZ005zXAUekA4cA9-3R4CxEu7, o4WmZ0dPgdbAfxX6SdyzFYxi8Q6K, o4WmZ0EBLHNiNxPySpqqGD_1owuY,
                  o4WmZ0tc-bBe88RIJJe2fDkMPsX5, o4WmZ0B-P7cxj4RCcHLsXnavplOF, o4WmZ096kc7rhxlAzouFw2NAw_Mo,
                  o4WmZ0iXeupmUQ8g_TuX5lDNSYD3, o4WmZ06DbXt3WgA06QX7hDwYosjc, o4WmZ09kMSgdzVDBF5iGkYqZjrS7,
                  o4WmZ0ti9xF-MuXyKhRQ-fMngWdb, o4WmZ0Q7qHnkayje3zdDA1rHuAYz, o4WmZ0fquZBOyrRHOl3FBOLChmVh,
                  o4WmZ0M5oZbV3WrkV-VHQcDN18yi, o4WmZ0Yh353KcOmhv2aVq5sz7Kcm]
      - { id: 101, name: beijing, fraction: 0.30 }
      - { id: 102, name: shanghai, fraction: 0.25 }
      - { id: 103, name: guangzhou, fraction: 0.15 }
      - { id: 104, name: new-followers, fraction: 0.10 }
  # An unverified subscription account (未认证订阅号): 48001 for mass/send and 48008 for
  # mpnews; one sendall a day.
  brand-news:
    appid: wx3e6b9d2f4a8c1705
    secret: sandbox-secret-brand-news-0001
    kind: subscription
    verified: false
    original_id: gh_2b7e4f9a0c61
    openid_prefix: oX3pQ1
    callback:
      url: http://127.0.0.1:8081/wechat/callback
      token: sandbox-callback-token-news
      mode: plain
    followers: { count: 1200, seed: 2 }
    tags:
      - { id: 100, name: readers, fraction: 0.5 }
      - { id: 101, name: weekly, fraction: 0.2 }
faults: []
"""#

    /// The default fixture, read from ``defaultYAML``.
    public static var `default`: SandboxFixture { defaultFixture }

    private static let defaultFixture: SandboxFixture = {
        do {
            return try SandboxFixture.load(yaml: defaultYAML, file: "default-fixture.yaml")
        } catch {
            preconditionFailure("the built-in default fixture is invalid:\n\(error)")
        }
    }()
}
