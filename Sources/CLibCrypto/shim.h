// The system OpenSSL's libcrypto (libssl-dev on Debian/Ubuntu, openssl on Homebrew), found by
// pkg-config as openssl. WeChatPush uses its EVP AES-256-CBC for callback messages.
#include <openssl/evp.h>
