// NFC on ICU, restricted to the Unicode 9.0 repertoire so that it equals HF `tokenizers` (see
// unicode_nfc.h). The ICU objects are built once and are thread-safe for const use.
#include "policy/unicode_nfc.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uniset.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>

namespace aha::policy {
namespace {

class Nfc9 {
 public:
  Nfc9() {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
    // [:age=9.0:] is every code point assigned in Unicode 9.0 or earlier (and the private-use areas).
    repertoire_ = std::make_unique<icu::UnicodeSet>(icu::UnicodeString(u"[:age=9.0:]"), status);
    if (U_FAILURE(status)) {
      throw std::runtime_error(std::string("ICU: cannot build the Unicode 9.0 NFC normalizer: ") +
                               u_errorName(status));
    }
    repertoire_->freeze();
    normalizer_ = std::make_unique<icu::FilteredNormalizer2>(*nfc, *repertoire_);
  }

  std::string operator()(std::string_view text) const {
    if (text.size() > INT32_MAX) throw std::invalid_argument("NFC: text over 2 GiB (ICU's length limit)");
    const icu::StringPiece piece(text.data(), static_cast<int32_t>(text.size()));
    UErrorCode status = U_ZERO_ERROR;
    if (normalizer_->isNormalizedUTF8(piece, status) && U_SUCCESS(status)) return std::string(text);
    std::string out;
    out.reserve(text.size());
    icu::StringByteSink<std::string> sink(&out);
    status = U_ZERO_ERROR;
    normalizer_->normalizeUTF8(0, piece, sink, nullptr, status);
    if (U_FAILURE(status)) throw std::runtime_error(std::string("ICU NFC failed: ") + u_errorName(status));
    return out;
  }

 private:
  std::unique_ptr<icu::UnicodeSet> repertoire_;
  std::unique_ptr<icu::FilteredNormalizer2> normalizer_;
};

}  // namespace

std::string nfc(std::string_view utf8) {
  // ASCII text is NFC (no ASCII character decomposes, reorders or composes with another ASCII character).
  if (std::all_of(utf8.begin(), utf8.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return std::string(utf8);
  }
  static const Nfc9 normalizer;
  return normalizer(utf8);
}

}  // namespace aha::policy
