#include "bench/spop_load/notify_template.h"

#include <cstring>
#include <string_view>

#include "agent/spop/frame.h"
#include "agent/spop/notify.h"
#include "agent/spop/typed_value.h"
#include "agent/spop/writer.h"

namespace keymux::bench {
namespace {

// An OpenAI chat completion request as an SDK serializes it ("model" after
// "messages"). HAProxy sends req.body,bytes(0,8192); we send a 300-byte prefix
// of a longer body, with body_size the whole length.
constexpr std::string_view kChatBody =
    R"({"messages":[{"role":"system","content":"You are a concise assistant for an )"
    R"(internal support desk. Answer in at most three sentences and cite the runbook )"
    R"(section when one applies."},{"role":"user","content":"Our nightly export job )"
    R"(failed with 'connection reset by peer' while uploading to the object store. )"
    R"(What should I check first, and how do I retry only the failed partitions )"
    R"(without re-running the whole export?"}],"model":"gpt-4o-mini","temperature":0.2,)"
    R"("max_tokens":512,"stream":false,"user":"svc-export-42"})";
constexpr std::size_t kBodyPrefix = 300;

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

NotifyTemplate::NotifyTemplate(std::string_view tag, std::string_view gateway_secret) {
  using spop::TypedValue;
  spop::Writer writer(payload_);
  spop::NotifyPayloadEncoder notify(writer);

  // "<tag>-<16 hex digits>": the digits are patched per frame.
  std::string request_id = "km-";
  request_id.append(tag);
  request_id.push_back('-');
  const std::size_t digits_in_id = request_id.size();
  request_id.append(kRequestDigits, '0');

  const char src[4] = {10, 1, 2, 3};
  notify.begin_message("route", gateway_secret.empty() ? 9 : 10);
  notify.add_arg("src", TypedValue::of_ipv4(std::string_view(src, 4)));
  notify.add_arg("method", TypedValue::of_string("POST"));
  notify.add_arg("path", TypedValue::of_string("/v1/chat/completions"));
  notify.add_arg("request_id", TypedValue::of_string(request_id));
  // The id's bytes are the last ones written: find them from the end.
  request_digits_at_ = payload_.size() - request_id.size() + digits_in_id;
  notify.add_arg("client_auth",
                 TypedValue::of_string("Bearer km-client-7f3a9c2e41d84b6f9a0e5c1d2b3a4f56"));
  // The SDK sent Authorization, not x-api-key: HAProxy sends a failed fetch as NULL.
  notify.add_arg("client_api_key", TypedValue::null());
  notify.add_arg("model", TypedValue::of_string("gpt-4o-mini"));
  notify.add_arg("body_size", TypedValue::of_int64(static_cast<std::int64_t>(kChatBody.size())));
  notify.add_arg("body", TypedValue::of_binary(kChatBody.substr(0, kBodyPrefix)));
  // Last, as keymux.spoe.conf has it.
  if (!gateway_secret.empty())
    notify.add_arg("gateway_secret", TypedValue::of_string(gateway_secret));
}

std::size_t NotifyTemplate::write(char* out, std::uint64_t stream_id, std::uint64_t frame_id,
                                  std::uint64_t request_number) const {
  auto* p = reinterpret_cast<std::uint8_t*>(out) + 4;
  *p++ = static_cast<std::uint8_t>(spop::FrameType::kNotify);
  *p++ = 0;
  *p++ = 0;
  *p++ = 0;
  *p++ = static_cast<std::uint8_t>(spop::kFlagFin);
  p += spop::encode_varint(stream_id, p);
  p += spop::encode_varint(frame_id, p);
  std::memcpy(p, payload_.data(), payload_.size());
  char* digits = reinterpret_cast<char*>(p) + request_digits_at_;
  for (std::size_t i = kRequestDigits; i-- > 0;) {
    digits[i] = kHex[request_number & 0xf];
    request_number >>= 4;
  }
  p += payload_.size();
  const auto length = static_cast<std::uint32_t>(p - reinterpret_cast<std::uint8_t*>(out) - 4);
  out[0] = static_cast<char>(length >> 24);
  out[1] = static_cast<char>(length >> 16);
  out[2] = static_cast<char>(length >> 8);
  out[3] = static_cast<char>(length);
  return length + 4;
}

}  // namespace keymux::bench
