#include "agent/config/secrets.h"

#include <optional>
#include <string>
#include <string_view>

namespace keymux::config {
namespace {

constexpr std::size_t kMinGatewaySecret = 16;

bool is_name_start(char c) { return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

bool is_valid_name(std::string_view name) {
  if (name.empty() || !is_name_start(name[0])) return false;
  for (const char c : name) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

// A header value must not carry CR or LF (header injection), NUL or other
// control bytes.
bool has_control_character(std::string_view secret) {
  for (const char c : secret) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

std::string key_label(const Key& key, const std::string& path) {
  return key.id().empty() ? path : "key '" + key.id() + "'";
}

// Replaces every ${NAME}; nullopt after reporting what is wrong.
std::optional<std::string> substitute(const std::string& text, const Environment& env,
                                      const std::string& label, const std::string& path,
                                      Diagnostics& diagnostics) {
  std::string out;
  bool ok = true;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = text.find("${", i);
    if (start == std::string::npos) {
      out.append(text, i);
      break;
    }
    out.append(text, i, start - i);
    const std::size_t end = text.find('}', start + 2);
    const std::string_view name = end == std::string::npos
                                      ? std::string_view()
                                      : std::string_view(text).substr(start + 2, end - start - 2);
    if (!is_valid_name(name)) {
      // What follows "${" is not quoted: it may be part of a literal secret.
      diagnostics.error(path, label + ": secret has a malformed ${...} reference (expected " +
                                  "${NAME} with NAME made of letters, digits and '_', not " +
                                  "starting with a digit)");
      return std::nullopt;
    }
    const std::optional<std::string> value =
        env.get_variable ? env.get_variable(std::string(name)) : std::nullopt;
    if (!value) {
      diagnostics.error(path, label + ": environment variable " + std::string(name) +
                                  " is not set" + env.unset_variable_hint);
      ok = false;
    } else {
      out += *value;
    }
    i = end + 1;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::string strip_trailing_newlines(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// The value of a `secret` / `secret_file` pair at `path`: nullopt after
// reporting what is wrong, or when neither is given and `required` is false.
std::optional<std::string> resolve_pair(const std::string& secret_text,
                                        const std::string& secret_file, const std::string& path,
                                        const std::string& label, bool required,
                                        const Environment& env, Diagnostics& diagnostics) {
  const std::string secret_path = field_path(path, "secret");
  const std::string file_path = field_path(path, "secret_file");
  const bool has_secret = diagnostics.given(secret_path);
  const bool has_file = diagnostics.given(file_path);
  if (has_secret && has_file) {
    diagnostics.error(file_path, label + ": set either secret or secret_file, not both");
    return std::nullopt;
  }
  if (!has_secret && !has_file) {
    if (required) {
      diagnostics.error(secret_path, label + ": no secret (set secret, e.g. \"${OPENAI_KEY_1}\", " +
                                         "or secret_file)");
    }
    return std::nullopt;
  }
  std::optional<std::string> secret;
  std::string where;
  if (has_secret) {
    where = secret_path;
    secret = substitute(secret_text, env, label, secret_path, diagnostics);
  } else {
    where = file_path;
    std::string reason;
    if (secret_file.empty()) {
      diagnostics.error(file_path, label + ": secret_file is empty");
      return std::nullopt;
    }
    secret = env.read_file ? env.read_file(secret_file, reason) : std::nullopt;
    if (!secret) {
      // The path is not quoted: a secret pasted by mistake would show.
      diagnostics.error(file_path, label + ": cannot read secret_file: " +
                                       (reason.empty() ? std::string("unknown error") : reason));
      return std::nullopt;
    }
    secret = strip_trailing_newlines(std::move(*secret));
  }
  if (!secret) return std::nullopt;
  if (secret->empty()) {
    diagnostics.error(where, label + ": secret is empty");
    return std::nullopt;
  }
  if (has_control_character(*secret)) {
    diagnostics.error(where, label + ": secret contains a control character (CR, LF, NUL or " +
                                 "another byte below 0x20, or 0x7f); it would break the HTTP " +
                                 "header that carries it");
    return std::nullopt;
  }
  return secret;
}

void resolve_key(Key& key, const std::string& path, const Environment& env,
                 Diagnostics& diagnostics) {
  std::optional<std::string> secret = resolve_pair(key.secret(), key.secret_file(), path,
                                                   key_label(key, path), true, env, diagnostics);
  if (secret) key.set_secret(std::move(*secret));
}

// HAProxy writes the gateway secret inside str("...") in keymux.spoe.conf:
// these characters need no quoting there (base64 and hex fit).
bool gateway_secret_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '~' || c == '+' || c == '/' || c == '=' || c == '-';
}

void resolve_spop(Spop& spop, const Environment& env, Diagnostics& diagnostics) {
  const std::string path = "spop";
  std::optional<std::string> secret =
      resolve_pair(spop.secret(), spop.secret_file(), path, "spop", false, env, diagnostics);
  if (!secret) return;
  const std::string where = diagnostics.given(field_path(path, "secret"))
                                ? field_path(path, "secret")
                                : field_path(path, "secret_file");
  if (secret->size() < kMinGatewaySecret) {
    diagnostics.error(where, "spop: the gateway secret is shorter than " +
                                 std::to_string(kMinGatewaySecret) +
                                 " characters (make one with `openssl rand -hex 32`)");
    return;
  }
  for (const char c : *secret) {
    if (!gateway_secret_char(c)) {
      diagnostics.error(where,
                        "spop: the gateway secret may only hold letters, digits and . _ ~ + / = - "
                        "(HAProxy's SPOE conf carries it unquoted; `openssl rand -hex 32` fits)");
      return;
    }
  }
  spop.set_secret(std::move(*secret));
  spop.clear_secret_file();
}

// Redis's password: ${NAME} from the environment (AUTH carries any byte, so
// only emptiness is checked).
void resolve_state(State& state, const Environment& env, Diagnostics& diagnostics) {
  const std::string path = field_path("state", "password");
  if (!diagnostics.given(path)) return;
  std::optional<std::string> password =
      substitute(state.password(), env, "state", path, diagnostics);
  if (!password) return;
  if (password->empty()) {
    diagnostics.error(path, "state: password is empty (leave it out for a Redis without AUTH)");
    return;
  }
  state.set_password(std::move(*password));
}

}  // namespace

void resolve_secrets(Config& config, const Environment& env, Diagnostics& diagnostics) {
  for (int p = 0; p < config.providers_size(); ++p) {
    const std::string provider_path = element_path("providers", static_cast<std::size_t>(p));
    Provider& provider = *config.mutable_providers(p);
    for (int k = 0; k < provider.keys_size(); ++k) {
      resolve_key(*provider.mutable_keys(k),
                  element_path(field_path(provider_path, "keys"), static_cast<std::size_t>(k)), env,
                  diagnostics);
    }
  }
  if (config.has_spop()) resolve_spop(*config.mutable_spop(), env, diagnostics);
  if (config.has_state()) resolve_state(*config.mutable_state(), env, diagnostics);
}

}  // namespace keymux::config
