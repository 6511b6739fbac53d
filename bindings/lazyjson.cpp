// lazyjson: simdjson's On-Demand API behind the C functions of lazyjson.h. Compiled as C++
// (simdjson is a C++ library); nothing here calls Lua, so no Lua error crosses these frames.
#define SIMDJSON_EXCEPTIONS 0
#include <simdjson.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include "lazyjson.h"

using namespace simdjson;

static_assert(TRK_LAZY_PADDING >= SIMDJSON_PADDING, "simdjson reads this far past a text");

// One parser a thread, reused: its buffers grow to the largest text it was given.
static ondemand::parser &parser() {
  static thread_local ondemand::parser p;
  return p;
}

// The JSON text of a value that has not been read yet.
static error_code raw_text(ondemand::value v, std::string_view &out) {
  ondemand::json_type t;
  error_code e = v.type().get(t);
  if (e) return e;
  if (t == ondemand::json_type::object) {
    ondemand::object o;
    if ((e = v.get_object().get(o))) return e;
    return o.raw_json().get(out);
  }
  if (t == ondemand::json_type::array) {
    ondemand::array a;
    if ((e = v.get_array().get(a))) return e;
    return a.raw_json().get(out);
  }
  out = v.raw_json_token();
  return SUCCESS;
}

extern "C" int trk_lazy_page (const char *buf, size_t len, const char *list, trk_lazy_span *keys,
                              trk_lazy_span *values, size_t max, size_t *n, trk_lazy_span **elems,
                              size_t *nelems, size_t *cap) {
  ondemand::document doc;
  ondemand::object top;
  *n = 0;
  if (parser().iterate(buf, len, len + TRK_LAZY_PADDING).get(doc)) return -1;
  if (doc.get_object().get(top)) return -1;
  for (auto field : top) {
    std::string_view key, text;
    ondemand::value v;
    if (*n >= max) return -1;
    // the key's own token (before unescaping it, which consumes it): the caller decodes it
    keys[*n].s = field.key().value_unsafe().raw() - 1;
    if (field.unescaped_key().get(key) || field.value().get(v)) return -1;
    values[*n].s = nullptr;
    values[*n].len = 0;
    ondemand::json_type t;
    if (v.type().get(t)) return -1;
    if (key == list && t == ondemand::json_type::array) {
      ondemand::array a;
      if (v.get_array().get(a)) return -1;
      for (auto element : a) {
        ondemand::value ev;
        std::string_view et;
        if (element.get(ev) || raw_text(ev, et)) return -1;
        if (*nelems == *cap) {
          size_t c = *cap ? *cap * 2 : 512;
          void *p = std::realloc(*elems, c * sizeof **elems);
          if (!p) return -1;
          *elems = static_cast<trk_lazy_span *>(p);
          *cap = c;
        }
        (*elems)[*nelems].s = et.data();
        (*elems)[*nelems].len = et.size();
        ++*nelems;
      }
      values[*n].s = nullptr;               // the list: its elements say it
    } else {
      if (raw_text(v, text)) return -1;
      values[*n].s = text.data();
      values[*n].len = text.size();
    }
    keys[*n].len = 0;
    ++*n;
  }
  // each key token runs from its opening quote to the closing one (found after the fact:
  // the raw key is not unescaped, so the first unescaped quote ends it)
  for (size_t i = 0; i < *n; i++) {
    const char *s = keys[i].s + 1;
    while (*s != '"') s += (*s == '\\') ? 2 : 1;
    keys[i].len = static_cast<size_t>(s + 1 - keys[i].s);
  }
  return 0;
}

// Reads a value into out; false when simdjson refuses it.
static bool take(ondemand::value v, trk_lazy_value *out) {
  ondemand::json_type t;
  if (v.type().get(t)) return false;
  switch (t) {
    case ondemand::json_type::null:
      out->type = TRK_LAZY_NULL;
      return !v.is_null().error();
    case ondemand::json_type::boolean: {
      bool b;
      if (v.get_bool().get(b)) return false;
      out->type = TRK_LAZY_BOOLEAN;
      out->boolean = b;
      return true;
    }
    case ondemand::json_type::number: {
      double d;
      if (v.get_double().get(d)) return false;
      out->type = TRK_LAZY_NUMBER;
      out->number = d;
      return true;
    }
    case ondemand::json_type::string: {
      std::string_view s;
      if (v.get_string().get(s)) return false;
      out->type = TRK_LAZY_STRING;
      out->text.s = s.data();
      out->text.len = s.size();
      return true;
    }
    default: {
      std::string_view s;
      if (raw_text(v, s)) return false;
      out->type = TRK_LAZY_NESTED;
      out->text.s = s.data();
      out->text.len = s.size();
      return true;
    }
  }
}

// Whether a member's key is k, as unescaped: the raw key compared first, unescaped only when it
// holds an escape.
static bool same_key(ondemand::field &field, std::string_view k) {
  const char *raw = field.key().raw();
  if (std::memcmp(raw, k.data(), k.size()) == 0 && raw[k.size()] == '"') return true;
  const char *p = raw;
  while (*p != '"' && *p != '\\') p++;
  if (*p == '"') return false;
  std::string_view key;
  return !field.unescaped_key().get(key) && key == k;
}

// The last member named k of object o into out (left as it was when there is none).
static bool find_in(ondemand::object o, std::string_view k, const char *k2, size_t l2,
                    trk_lazy_value *out) {
  for (auto member : o) {
    ondemand::field field;
    ondemand::value v;
    if (std::move(member).get(field)) return false;
    if (!same_key(field, k)) continue;         // its value is skipped
    v = field.value();
    out->type = TRK_LAZY_MISSING;            // a later one replaces an earlier one whole
    if (k2 == nullptr) {
      if (!take(v, out)) return false;
      continue;
    }
    ondemand::json_type t;
    if (v.type().get(t)) return false;
    if (t != ondemand::json_type::object) continue;
    ondemand::object inner;
    if (v.get_object().get(inner)) return false;
    if (!find_in(inner, std::string_view(k2, l2), nullptr, 0, out)) return false;
  }
  return true;
}

extern "C" void trk_lazy_find (const char *buf, size_t len, const char *k1, size_t l1,
                               const char *k2, size_t l2, trk_lazy_value *out) {
  ondemand::document doc;
  ondemand::object top;
  out->type = TRK_LAZY_MISSING;
  if (parser().iterate(buf, len, len + TRK_LAZY_PADDING).get(doc) || doc.get_object().get(top)
      || !find_in(top, std::string_view(k1, l1), k2, l2, out))
    out->type = TRK_LAZY_ERROR;
}

extern "C" size_t trk_lazy_parser_bytes (size_t len) {
  // structural indexes (4 bytes a byte) and the string buffer (5/3 of a byte a byte)
  return len * 6 + 2 * SIMDJSON_PADDING + 4096;
}
