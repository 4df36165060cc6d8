/// WeChat Official Account API client (mass send, media, tokens, callbacks).
public enum WeChatMP {}
