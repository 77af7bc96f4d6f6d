// Every reader and writer with the integer types int8, int16, uint16, uint32, uint64 and
// with string tensors: checkpoints (format versions 1 and 2, forged string data behind
// valid checksums, every flipped byte), the Saver, graph files (version 1 and 2, string
// tensors as text and as base64), model bundles with string inputs, and .npy/.npz
// (NumPy-written fixtures from tests/data/make_npz_fixtures.py, byte-identical output).
#include <gtest/gtest.h>
#include <sluice/sluice.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "test_util.h"

namespace sluice {
namespace {

using testing::contains;
using testing::error_of;
using Named = std::vector<std::pair<std::string, Tensor>>;
using Strings = std::vector<std::string>;
namespace fs = std::filesystem;

const std::string kNul("a\0b", 3);
const std::string kBinary("\xff\xfe\x00\x80", 4);

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
void spit(const std::string& p, const std::string& bytes) {
  std::remove(p.c_str());
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
uint64_t get_le(const std::string& b, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}
void set_le(std::string& b, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// The fixtures next to this source file (see test_npz.cc for why three places are tried).
std::string data_path(const std::string& name) {
  const fs::path rel = fs::path(__FILE__).parent_path() / "data" / name;
  const fs::path exe_dir = fs::canonical("/proc/self/exe").parent_path();
  for (const fs::path& p : {rel, exe_dir / rel, exe_dir.parent_path() / rel})
    if (fs::exists(p)) return p.string();
  return rel.string();
}

// One tensor of every new dtype, extreme values included, and string tensors of every
// awkward kind: empty strings, NUL bytes, invalid UTF-8, a scalar, an empty tensor.
Named new_dtype_tensors() {
  return {
      {"i8", Tensor::from_vector<int8_t>({-128, -1, 0, 127}, {2, 2})},
      {"i16", Tensor::from_vector<int16_t>({-32768, 32767, 5}, {3})},
      {"u16", Tensor::from_vector<uint16_t>({0, 65535}, {2, 1})},
      {"u32", Tensor::from_vector<uint32_t>({0, 4294967295u, 17}, {3})},
      {"u64", Tensor::from_vector<uint64_t>({0, 18446744073709551615ull, 1ull << 63}, {3})},
      {"u64_scalar", Tensor(uint64_t{12345678901234567890ull})},
      {"i8_empty", Tensor(DType::i8, Shape{0, 4})},
      {"text", Tensor::from_strings({"cat", "dög", "", "日本"}, {2, 2})},
      {"bytes", Tensor::from_strings({kNul, kBinary}, {2})},
      {"long", Tensor::from_strings({std::string(300, 'q'), ""}, {2})},
      {"string_scalar", Tensor("just one")},
      {"string_empty", Tensor(DType::string, Shape{2, 0})},
      {"f32", Tensor{1.5f, -2.0f}},
  };
}

void expect_same(const Named& got, const Named& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first);
    EXPECT_TRUE(got[i].second.equals(want[i].second))
        << want[i].first << ": " << got[i].second.to_string() << " vs " << want[i].second.to_string();
  }
}

class DTypesIo : public testing::TempDirTest {};

// ---- checkpoints ----

TEST_F(DTypesIo, CheckpointsRoundTripNewDtypesAndStrings) {
  const Named tensors = new_dtype_tensors();
  io::write_checkpoint(path("all.ckpt"), tensors);
  expect_same(io::read_checkpoint(path("all.ckpt")), tensors);
  const std::vector<io::VariableInfo> infos = io::list_variables(path("all.ckpt"));
  EXPECT_EQ(infos[0].dtype, DType::i8);
  EXPECT_EQ(infos[7].dtype, DType::string);
  EXPECT_EQ(infos[7].shape, (Shape{2, 2}));
  EXPECT_EQ(io::load_variable(path("all.ckpt"), "bytes").strings(), (Strings{kNul, kBinary}));
  EXPECT_EQ(io::load_variable(path("all.ckpt"), "long").string_at(0), std::string(300, 'q'));
  // Version 2 because of the new dtypes; a file of version 1 dtypes stays version 1.
  EXPECT_EQ(get_le(slurp(path("all.ckpt")), 8, 4), 2u);
  io::write_checkpoint(path("old.ckpt"), {{"w", Tensor{1.0f}}, {"b", Tensor(true)}, {"u", Tensor(uint8_t{3})}});
  EXPECT_EQ(get_le(slurp(path("old.ckpt")), 8, 4), 1u);
  EXPECT_EQ(io::load_variable(path("old.ckpt"), "u").scalar<uint8_t>(), 3);
  for (const auto& [name, t] : tensors) {
    io::write_checkpoint(path("one.ckpt"), {{name, t}});
    EXPECT_EQ(get_le(slurp(path("one.ckpt")), 8, 4), name == "f32" ? 1u : 2u) << name;
  }
}

TEST_F(DTypesIo, CheckpointStringLayoutIsAsDocumented) {
  // docs/formats.md: ["ab", "", "xyz"] is 3 lengths of 8 bytes, then "abxyz".
  io::write_checkpoint(path("s.ckpt"), {{"s", Tensor::from_strings({"ab", "", "xyz"}, {3})}});
  const std::string b = slurp(path("s.ckpt"));
  ASSERT_EQ(b.size(), 128u + 29u);
  EXPECT_EQ(b[69], 12);                // dtype code of string
  EXPECT_EQ(get_le(b, 89, 8), 29u);    // length
  EXPECT_EQ(get_le(b, 128, 8), 2u);
  EXPECT_EQ(get_le(b, 136, 8), 0u);
  EXPECT_EQ(get_le(b, 144, 8), 3u);
  EXPECT_EQ(b.substr(152), "abxyz");
}

// Re-seals a one-tensor checkpoint (name length 1, rank 1) after its data or index changed:
// the data CRC (index entry at 97) and the header/index CRC (header at 52).
std::string seal(std::string b) {
  const uint64_t offset = get_le(b, 81, 8), length = get_le(b, 89, 8);
  if (offset + length <= b.size())
    set_le(b, 97, crc32(0, reinterpret_cast<const Bytef*>(b.data() + offset), static_cast<uInt>(length)), 4);
  set_le(b, 52, 0, 4);
  const uint64_t index_end = 64 + get_le(b, 24, 8);
  set_le(b, 52, crc32(0, reinterpret_cast<const Bytef*>(b.data()), static_cast<uInt>(index_end)), 4);
  return b;
}

TEST_F(DTypesIo, ForgedStringDataBehindValidChecksumsIsDataLoss) {
  const std::string p = path("f.ckpt");
  io::write_checkpoint(p, {{"s", Tensor::from_strings({"ab", "", "xyz"}, {3})}});
  const std::string good = slurp(p);
  spit(p, seal(good));
  ASSERT_EQ(io::load_variable(p, "s").strings(), (Strings{"ab", "", "xyz"}));
  auto expect_loss = [&](std::string forged, const std::string& part) {
    spit(p, seal(std::move(forged)));
    const std::string m = error_of<DataLoss>([&] { io::read_checkpoint(p); });
    EXPECT_TRUE(contains(m, part)) << "want '" << part << "' in: " << m;
    EXPECT_TRUE(contains(m, "tensor 's'")) << m;
  };
  std::string f = good;
  set_le(f, 128, 1000, 8);  // a length past the end of the data
  expect_loss(f, "runs past");
  f = good;
  set_le(f, 144, 1, 8);  // lengths add up to 3 of 5 bytes
  expect_loss(f, "add up to 3 bytes but the tensor holds 5");
  f = good;
  set_le(f, 128, ~uint64_t{0}, 8);  // a length that would overflow a sum
  expect_loss(f, "runs past");
  f = good;
  set_le(f, 89, 16, 8);  // 16 bytes cannot hold 3 lengths
  expect_loss(f, "cannot hold the lengths of 3 strings");
  f = good;
  set_le(f, 8, 1, 4);  // a string in a version 1 file
  expect_loss(f, "invalid dtype code 12 for format version 1");
  f = good;
  set_le(f, 8, 3, 4);
  spit(p, seal(f));
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { io::read_checkpoint(p); }), "unsupported checkpoint format version 3"));
  // A string tensor over the allocation limit is refused before it is made.
  const size_t saved = max_allocation_bytes();
  set_max_allocation_bytes(64);
  spit(p, good);
  EXPECT_THROW(io::read_checkpoint(p), ResourceExhausted);
  set_max_allocation_bytes(saved);
}

TEST_F(DTypesIo, EveryFlippedByteOfAStringCheckpointIsDataLoss) {
  const std::string p = path("x.ckpt");
  const Named tensors = {{"s", Tensor::from_strings({"ab", kNul, ""}, {3})}, {"q", Tensor(int8_t{-3})}};
  io::write_checkpoint(p, tensors);
  const std::string good = slurp(p);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    spit(p, bad);
    EXPECT_THROW(io::read_checkpoint(p), DataLoss) << "byte " << i;
  }
  for (size_t n = 0; n < good.size(); n += 7) {
    spit(p, good.substr(0, n));
    EXPECT_THROW(io::read_checkpoint(p), DataLoss) << "length " << n;
  }
}

TEST_F(DTypesIo, SaverRestoresStringAndNarrowIntegerVariables) {
  auto build = [](Graph& g) {
    Scope s(g);
    ops::variable(s.named("vocab"), Shape{3}, DType::string,
                  Initializer::constant(Tensor::from_strings({"<pad>", kBinary, "z"}, {3})));
    ops::variable(s.named("codes"), Shape{2}, DType::u16, Initializer::constant(Tensor::from_vector<uint16_t>({7, 65535}, {2})));
    return s;
  };
  Graph g1;
  Scope s1 = build(g1);
  Session a(g1);
  a.run({}, {}, {ops::global_variables_initializer(s1)});
  io::Saver(g1).save(a, path("v.ckpt"));
  Graph g2;
  build(g2);
  Session b(g2);
  io::Saver(g2).restore(b, path("v.ckpt"));
  EXPECT_EQ(b.variable_value("vocab").strings(), (Strings{"<pad>", kBinary, "z"}));
  EXPECT_EQ(b.variable_value("codes").to_vector<uint16_t>(), (std::vector<uint16_t>{7, 65535}));
}

// ---- graph files and bundles ----

TEST(DTypesGraphFile, ConstsOfNewDtypesAndStringsRoundTrip) {
  Graph g;
  Scope root(g);
  const Named tensors = new_dtype_tensors();
  for (const auto& [name, t] : tensors) ops::constant(root.named(name), t);
  // Larger than the 16 listed values: base64 for numbers.
  const Tensor big = Tensor::from_vector<uint32_t>(std::vector<uint32_t>(40, 4000000000u), {40});
  ops::constant(root.named("big"), big);
  ops::placeholder(root.named("in16"), DType::i16, {-1, 3});
  const std::string text = io::graph_to_json(g);
  EXPECT_EQ(text.rfind("{\n  \"format\": \"sluice-graph\",\n  \"version\": 2,", 0), 0u) << text.substr(0, 60);
  // UTF-8 strings are listed as text, other bytes as one base64 string per element.
  EXPECT_TRUE(contains(text, R"("values": ["cat", "dög", "", "日本"])")) << text;
  EXPECT_TRUE(contains(text, R"("base64": ["YQBi", "//4AgA=="])")) << text;
  EXPECT_TRUE(contains(text, R"("values": [0, 18446744073709551615, 9223372036854775808])")) << text;
  EXPECT_TRUE(contains(text, R"("dtype": "int16")")) << text;
  Graph g2;
  io::import_graph(g2, text);
  Session sess(g2);
  for (const auto& [name, t] : tensors) {
    const Tensor got = sess.run({}, {name + ":0"})[0];
    EXPECT_TRUE(got.equals(t)) << name << ": " << got.to_string() << " vs " << t.to_string();
  }
  EXPECT_TRUE(sess.run({}, {"big:0"})[0].equals(big));
  EXPECT_EQ(g2.operation("in16").node()->output_dtypes[0], DType::i16);
  EXPECT_EQ(io::graph_to_json(g2), text);
  // A graph without the new dtypes is still written as version 1.
  Graph old;
  Scope o(old);
  ops::constant(o.named("c"), Tensor{1.0f});
  ops::placeholder(o.named("s"), DType::string, {2});  // string placeholders existed in version 1
  EXPECT_EQ(io::graph_to_json(old).rfind("{\n  \"format\": \"sluice-graph\",\n  \"version\": 1,", 0), 0u);
}

TEST(DTypesGraphFile, MalformedStringTensorsAreDataLoss) {
  auto with_const = [](const std::string& tensor) {
    return std::string(R"({"format": "sluice-graph", "version": 2, "nodes": [{"name": "c", "op": "Const", "attrs": {"value": {"tensor": )") +
           tensor + "}}}]}";
  };
  auto expect_loss = [&](const std::string& tensor, const std::string& part) {
    Graph g;
    const std::string m = error_of<DataLoss>([&] { io::import_graph(g, with_const(tensor)); });
    EXPECT_TRUE(contains(m, part)) << "want '" << part << "' in: " << m;
  };
  expect_loss(R"({"dtype": "string", "shape": [2], "values": ["a"]})", "1 strings for shape [2]");
  expect_loss(R"({"dtype": "string", "shape": [1], "values": [7]})", "expected a string, got number");
  expect_loss(R"({"dtype": "string", "shape": [1], "values": "abc"})", "expected an array");
  expect_loss(R"({"dtype": "string", "shape": [1], "base64": ["YQ="]})", "base64 text of 3 characters");
  expect_loss(R"({"dtype": "string", "shape": [1], "base64": ["Y*=="]})", "invalid base64 character");
  expect_loss(R"({"dtype": "string", "shape": [1], "base64": ["YR=="]})", "non-canonical base64 padding");
  expect_loss(R"({"dtype": "uint64", "shape": [1], "values": [-1]})", "outside the range of uint64");
  expect_loss(R"({"dtype": "int8", "shape": [1], "values": [128]})", "outside the range of int8");
  expect_loss(R"({"dtype": "uint16", "shape": [1], "base64": "AAAAAAAA"})", "expected 4");
  // The good forms of the same.
  Graph g;
  io::import_graph(g, with_const(R"({"dtype": "string", "shape": [2], "base64": ["YQ==", ""]})"));
  Session sess(g);
  EXPECT_EQ(sess.run({}, {"c:0"})[0].strings(), (Strings{"a", ""}));
  Graph g3;
  const std::string m = error_of<Unimplemented>([&] {
    io::import_graph(g3, R"({"format": "sluice-graph", "version": 3, "nodes": []})");
  });
  EXPECT_TRUE(contains(m, "format version 3")) << m;
}

TEST_F(DTypesIo, BundleWithStringInputsAndVariables) {
  {
    Graph g;
    Scope s(g);
    Output words = ops::placeholder(s.named("words"), DType::string, {-1});
    Output vocab = ops::variable(s.named("vocab"), Shape{3}, DType::string,
                                 Initializer::constant(Tensor::from_strings({"a", kBinary, "c"}, {3})));
    Output known = ops::equal(s.named("known"), ops::expand_dims(s, words, 1), ops::expand_dims(s, vocab, 0));
    Output codes = ops::placeholder(s.named("codes"), DType::u8, {-1});
    Output wide = ops::cast(s.named("wide"), codes, DType::u64);
    Output picked = ops::gather(s.named("picked"), vocab, ops::cast(s, codes, DType::i32));
    Session sess(g);
    sess.run({}, {}, {ops::global_variables_initializer(s)});
    io::save_model(path("bundle"), sess,
                   {{"serving_default", {{{"words", words}, {"codes", codes}},
                                         {{"known", known}, {"wide", wide}, {"picked", picked}}}}});
  }
  io::LoadedModel model = io::load_model(path("bundle"));
  const auto out = model.run("serving_default", {{"words", Tensor::from_strings({kBinary, "zz"}, {2})},
                                                 {"codes", Tensor::from_vector<uint8_t>({2, 0}, {2})}});
  EXPECT_EQ(out.at("known").to_vector<bool>(), (std::vector<bool>{false, true, false, false, false, false}));
  EXPECT_EQ(out.at("wide").to_vector<uint64_t>(), (std::vector<uint64_t>{2, 0}));
  EXPECT_EQ(out.at("picked").strings(), (Strings{"c", "a"}));
  EXPECT_TRUE(contains(slurp(path("bundle") + "/graph.json"), R"("dtype": "uint64")"));
  // A fed value of the wrong dtype names the signature key.
  const std::string m = error_of<InvalidArgument>([&] {
    model.run("serving_default", {{"words", Tensor{1, 2}}, {"codes", Tensor::from_vector<uint8_t>({0}, {1})}});
  });
  EXPECT_TRUE(contains(m, "'words'") && contains(m, "string")) << m;
}

// ---- NumPy ----

TEST_F(DTypesIo, NumpyFixturesOfNewDtypesAndStrings) {
  EXPECT_TRUE(io::read_npy(data_path("np_i1.npy")).equals(Tensor::from_vector<int8_t>({-128, -1, 0, 127}, {4})));
  EXPECT_TRUE(io::read_npy(data_path("np_i2.npy")).equals(Tensor::from_vector<int16_t>({-32768, 1, 2, 32767}, {2, 2})));
  EXPECT_TRUE(io::read_npy(data_path("np_u2.npy")).equals(Tensor::from_vector<uint16_t>({0, 1, 65535}, {3})));
  EXPECT_TRUE(io::read_npy(data_path("np_u4.npy")).equals(Tensor::from_vector<uint32_t>({0, 4294967295u}, {2})));
  const Tensor u8 = Tensor::from_vector<uint64_t>({0, 18446744073709551615ull, 9223372036854775808ull}, {3});
  EXPECT_TRUE(io::read_npy(data_path("np_u8.npy")).equals(u8));
  // 'S12': trailing NULs are padding, a leading NUL is data.
  const Tensor s = Tensor::from_strings({"cat", "", std::string("\0\xffz", 3), "a longer one"}, {2, 2});
  EXPECT_TRUE(io::read_npy(data_path("np_S.npy")).equals(s)) << io::read_npy(data_path("np_S.npy"));
  // '<U5' becomes UTF-8.
  const Tensor u = Tensor::from_strings({"h\xc3\xa9llo", "", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80x"}, {4});
  EXPECT_TRUE(io::read_npy(data_path("np_U.npy")).equals(u)) << io::read_npy(data_path("np_U.npy"));
  const std::string m = error_of<Unimplemented>([] { io::read_npy(data_path("np_O.npy")); });
  EXPECT_TRUE(contains(m, "object arrays") && contains(m, "pickle")) << m;
  const Named all = io::read_npz(data_path("np_extra_dtypes.npz"));
  ASSERT_EQ(all.size(), 7u);
  EXPECT_TRUE(all[4].second.equals(u8));
  EXPECT_TRUE(all[5].second.equals(s));
  EXPECT_TRUE(all[6].second.equals(u));
  // What we write is byte for byte what numpy.save wrote (strings as 'S' of the longest).
  for (const char* name : {"i1", "i2", "u2", "u4", "u8", "S"}) {
    const std::string want = slurp(data_path(std::string("np_") + name + ".npy"));
    EXPECT_EQ(io::encode_npy(io::read_npy(data_path(std::string("np_") + name + ".npy"))), want) << name;
  }
}

TEST_F(DTypesIo, NpzRoundTripsAndStringLimits) {
  Named tensors = new_dtype_tensors();
  io::write_npz(path("a.npz"), tensors, /*compress=*/true);
  expect_same(io::read_npz(path("a.npz")), tensors);
  io::write_npz(path("b.npz"), tensors, /*compress=*/false);
  expect_same(io::read_npz(path("b.npz")), tensors);
  // numpy cannot give back a trailing NUL: refused before anything is written.
  std::string m = error_of<InvalidArgument>([&] {
    io::write_npz(path("c.npz"), {{"s", Tensor::from_strings({std::string("ab\0", 3)}, {1})}});
  });
  EXPECT_TRUE(contains(m, "ends with a NUL byte")) << m;
  EXPECT_FALSE(fs::exists(path("c.npz")));
  // Padding every element to the longest one is bounded by the allocation limit.
  const size_t saved = max_allocation_bytes();
  set_max_allocation_bytes(1 << 20);
  Strings skewed(2000, "x");
  skewed[0] = std::string(1000, 'y');
  EXPECT_THROW(io::write_npy(path("d.npy"), Tensor::from_strings(skewed)), ResourceExhausted);
  set_max_allocation_bytes(saved);
  // A 'U' array holding a value that is not a code point is corrupt.
  std::string npy = io::encode_npy(Tensor::from_vector<uint32_t>({0x68, 0x110000}, {1, 2}));
  const size_t at = npy.find("<u4");
  ASSERT_NE(at, std::string::npos);
  npy.replace(at, 3, "<U2");
  npy.replace(npy.find("(1, 2)"), 6, "(1,)  ");
  m = error_of<DataLoss>([&] { io::decode_npy(npy, "crafted"); });
  EXPECT_TRUE(contains(m, "not a Unicode code point")) << m;
  // Zero-width strings could claim any element count from no data: refused.
  npy.replace(npy.find("<U2"), 3, "|S0");
  EXPECT_THROW(io::decode_npy(npy, "crafted"), Unimplemented);
}

}  // namespace
}  // namespace sluice
