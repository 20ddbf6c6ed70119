// The NOTIFY frame spop-load sends, encoded once: a "route" message shaped like
// the one keymux.spoe.conf has HAProxy send. Per frame only the header (its
// stream-id and frame-id varints change size) is re-encoded and the payload is
// copied, with the request id patched in place (fixed width).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace keymux::bench {

class NotifyTemplate {
 public:
  // `tag` (a few characters) goes into every request id made from this template.
  // A non-empty `gateway_secret` is sent as the gateway_secret argument.
  explicit NotifyTemplate(std::string_view tag, std::string_view gateway_secret = {});

  // Largest frame append() can produce, the 4-byte length prefix included.
  std::size_t max_frame_size() const { return payload_.size() + kMaxHeaderSize; }
  // Largest frame length without the prefix (what max-frame-size bounds).
  std::size_t max_body_size() const { return payload_.size() + kMaxHeaderSize - 4; }

  // Writes one whole NOTIFY frame (FIN) at `out`, which must have
  // max_frame_size() bytes free; returns the bytes written. `request_number`
  // becomes the hex tail of the request_id argument.
  std::size_t write(char* out, std::uint64_t stream_id, std::uint64_t frame_id,
                    std::uint64_t request_number) const;

 private:
  // length prefix 4 + type 1 + flags 4 + two varints of at most 10 bytes.
  static constexpr std::size_t kMaxHeaderSize = 4 + 1 + 4 + 10 + 10;
  static constexpr std::size_t kRequestDigits = 16;

  std::string payload_;
  std::size_t request_digits_at_ = 0;  // offset of the hex digits in payload_
};

}  // namespace keymux::bench
