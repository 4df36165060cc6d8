/// A local emulator of the WeChat mass-send API.
public enum WeChatSandbox {}
