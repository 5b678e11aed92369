// The IDX reader (plain and gzip, and its refusals) and Fashion-MNIST as Debian ships it,
// shaped into model inputs.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "models/data/fashion_mnist.h"
#include "models/data/idx_file.h"

namespace syncbed::models {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("syncbed_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::vector<std::uint8_t> idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims,
                                    const std::vector<std::uint8_t>& values) {
  std::vector<std::uint8_t> bytes = {0, 0, type, std::uint8_t(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(std::uint8_t(d >> shift));
  bytes.insert(bytes.end(), values.begin(), values.end());
  return bytes;
}

void write_plain(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void write_gzip(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
  gzclose(file);
}

std::string error_of(const std::string& path) {
  try {
    read_idx_bytes(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(IdxFile, ReadsPlainAndGzipFiles) {
  std::vector<std::uint8_t> values(2 * 3 * 4);
  std::iota(values.begin(), values.end(), 7);
  const auto bytes = idx_bytes(0x08, {2, 3, 4}, values);
  const std::string plain = temp_path("plain.idx"), gz = temp_path("packed.idx.gz");
  write_plain(plain, bytes);
  write_gzip(gz, bytes);
  for (const auto& path : {plain, gz}) {
    const IdxArray array = read_idx_bytes(path);
    EXPECT_EQ(array.dims, (std::vector<std::uint32_t>{2, 3, 4})) << path;
    EXPECT_EQ(array.values, values) << path;
    std::filesystem::remove(path);
  }
}

TEST(IdxFile, RefusesBadFilesWithTheReason) {
  const std::string path = temp_path("bad.idx");
  EXPECT_NE(error_of(path).find("cannot open"), std::string::npos);
  write_plain(path, {0, 0});
  EXPECT_NE(error_of(path).find("too short for an IDX header"), std::string::npos);
  write_plain(path, {1, 2, 8, 1, 0, 0, 0, 1, 5});
  EXPECT_NE(error_of(path).find("bad magic number"), std::string::npos);
  write_plain(path, idx_bytes(0x0D, {1}, {0, 0, 0, 0}));
  EXPECT_NE(error_of(path).find("not unsigned bytes (type code 13)"), std::string::npos);
  write_plain(path, idx_bytes(0x08, {4}, {1, 2, 3}));
  EXPECT_NE(error_of(path).find("truncated: fewer values"), std::string::npos);
  write_plain(path, idx_bytes(0x08, {2}, {1, 2, 3}));
  EXPECT_NE(error_of(path).find("trailing data"), std::string::npos);
  write_plain(path, {0, 0, 8, 2, 0, 0, 0});
  EXPECT_NE(error_of(path).find("truncated IDX header"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(FashionMnist, TestSplitHasTenBalancedClasses) {
  const LabelledImages test = load_fashion_mnist(kFashionMnistDir, "t10k");
  EXPECT_EQ(test.count, 10'000);
  EXPECT_EQ(test.rows, 28);
  EXPECT_EQ(test.cols, 28);
  ASSERT_EQ(test.pixels.size(), 10'000u * 28 * 28);
  std::vector<int> per_class(10, 0);
  for (auto label : test.labels) ++per_class.at(label);
  for (int c = 0; c < 10; ++c) EXPECT_EQ(per_class[c], 1000) << "class " << c;
  // Real images, not blank: the mean pixel is near the published 0.286.
  const double mean = std::accumulate(test.pixels.begin(), test.pixels.end(), 0.0) / test.pixels.size() / 255;
  EXPECT_NEAR(mean, 0.286, 0.01);
}

TEST(FashionMnist, MissingFilesNameThePackage) {
  try {
    load_fashion_mnist("/nonexistent", "train");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("dataset-fashion-mnist"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_fashion_mnist(kFashionMnistDir, "validation"), std::invalid_argument);
}

LabelledImages two_by_two() {
  LabelledImages set;
  set.count = 1;
  set.rows = set.cols = 2;
  set.classes = 10;
  set.pixels = {0, 255, 51, 102};
  set.labels = {7};
  return set;
}

TEST(FashionMnist, BatchesPadSmallInputsAndUpscaleByWholeFactors) {
  const LabelledImages set = two_by_two();
  const std::int32_t first = 0;
  auto value = [](int v) { return (v / 255.0f - 0.2860f) / 0.3530f; };
  ImageBatch batch;
  fill_image_batch(set, std::span(&first, 1), 3, batch);  // factor 1, image at the top left, padded
  ASSERT_EQ(batch.pixels.size(), 9u);
  EXPECT_EQ(batch.labels[0], 7);
  EXPECT_FLOAT_EQ(batch.pixels[0], value(0));
  EXPECT_FLOAT_EQ(batch.pixels[1], value(255));
  EXPECT_FLOAT_EQ(batch.pixels[3], value(51));
  EXPECT_FLOAT_EQ(batch.pixels[4], value(102));
  EXPECT_FLOAT_EQ(batch.pixels[8], value(0));             // padding is background
  fill_image_batch(set, std::span(&first, 1), 5, batch);  // factor 2, centred (offset 0 of a spare 1)
  const std::vector<int> row0 = {0, 0, 255, 255, 0}, row2 = {51, 51, 102, 102, 0};
  for (int x = 0; x < 5; ++x) {
    EXPECT_FLOAT_EQ(batch.pixels[x], value(row0[x])) << x;
    EXPECT_FLOAT_EQ(batch.pixels[5 + x], value(row0[x])) << x;
    EXPECT_FLOAT_EQ(batch.pixels[10 + x], value(row2[x])) << x;
    EXPECT_FLOAT_EQ(batch.pixels[20 + x], value(0)) << x;
  }
  EXPECT_THROW(fill_image_batch(set, std::span(&first, 1), 1, batch), std::invalid_argument);
  const std::int32_t missing = 1;
  EXPECT_THROW(fill_image_batch(set, std::span(&missing, 1), 3, batch), std::out_of_range);
}

}  // namespace
}  // namespace syncbed::models
