// make_packed_seeds ADAPTER... -o DIR: writes small packed adapters (.lqa.h5) as seeds for
// fuzz_packed, one per adapter and settings variant (F16 and F32 scales, per-component and
// flattened groups, 1..8 high bits, odd group sizes), through the real quantizer and writer.
// make_packed_seeds --bad ADAPTER -o DIR: writes the crafted hostile packed files of
// tests/data/bad (packed-*.lqa.h5, issue 25) from ADAPTER's packed file with the HDF5 edits of
// packedmutations.h; tests/packed/packedhostiletest.cpp checks their messages.
// Run by tests/fuzz/make-seeds.py; the seeds and the bad files are committed.

#include "core/engine/adapterquantizer.h"
#include "core/io/adapter.h"
#include "core/io/error.h"
#include "core/packed/packedfile.h"
#include "core/packed/packedformat.h"
#include "packedmutations.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace {

using Edit = std::function<bool(hid_t)>;

// count -1: the dataset's own extent.
bool replaceIn(hid_t file, const char* group, const char* name, lqmut::Storage::Kind kind,
               std::int64_t count = -1, unsigned filters = 0)
{
    const lqmut::Id location(H5Gopen2(file, group, H5P_DEFAULT), H5Gclose);
    if (!location.ok())
        return false;
    lqmut::Storage storage;
    storage.kind = kind;
    storage.count = hsize_t(count >= 0 ? count : lqmut::extentOf(location, name));
    storage.chunk = std::clamp<hsize_t>(storage.count, 1, 16); // not above the extent
    storage.filters = filters;
    // An absolute path every Linux machine has: what an attacker would name.
    storage.otherFile = "/etc/passwd";
    return lqmut::replaceDataset(location, name, storage);
}

// A non-LoRA tensor /tensors/0 declaring 2^30 bytes that were never written.
bool hugeTensor(hid_t file)
{
    const hsize_t dims[1] = {hsize_t(1) << 30};
    const lqmut::Id space(H5Screate_simple(1, dims, nullptr), H5Sclose);
    const lqmut::Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE);
    H5Pset_obj_track_times(dcpl, false);
    const lqmut::Id tensor(
        H5Dcreate2(file, "/tensors/0", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
        H5Dclose);
    return tensor.ok() && lqmut::writeStringAttribute(tensor, "name", "huge.weight") &&
           lqmut::writeStringAttribute(tensor, "dtype", "U8") &&
           lqmut::writeStringAttribute(tensor, "shape", "[1073741824]");
}

int writeBad(const std::string& adapterPath, const std::string& out)
{
    const lq::Adapter adapter = lq::Adapter::load(adapterPath);
    const std::string base = out + "/packed-base.tmp.lqa.h5";
    lq::exportPackedAdapter(base, adapter, lq::quantizeAdapter(adapter, lq::QuantSettings{}));
    using K = lqmut::Storage::Kind;
    const std::vector<std::pair<const char*, Edit>> cases = {
        {"external-storage", [](hid_t f) { return replaceIn(f, "/", "codes", K::External); }},
        {"virtual-dataset", [](hid_t f) { return replaceIn(f, "/", "scales", K::Virtual); }},
        {"soft-link",
         [](hid_t f) { return lqmut::replaceLink(f, "/", "codes", lqmut::Link::Soft); }},
        {"external-link",
         [](hid_t f) {
             return lqmut::replaceLink(f, "/", "source", lqmut::Link::External, "/etc/passwd",
                                       "/source");
         }},
        {"user-link",
         [](hid_t f) { return lqmut::replaceLink(f, "/", "zeros", lqmut::Link::User); }},
        {"deflate", [](hid_t f) { return replaceIn(f, "/", "codes", K::Chunked, -1, 1); }},
        {"never-written", [](hid_t f) { return replaceIn(f, "/", "codes", K::Unallocated); }},
        {"huge-tensor", hugeTensor},
        {"no-modules", [](hid_t f) { return replaceIn(f, "/", "modules", K::Contiguous, 0); }},
        {"nul-in-name",
         [](hid_t f) { return lqmut::pokeTable(f, 0, "name", std::string("base\0model", 10)); }},
        {"name-not-utf8", [](hid_t f) { return lqmut::pokeTable(f, 1, "name", "\xff\xfe"); }},
    };
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    for (const auto& [name, edit] : cases) {
        const std::string target = out + "/packed-" + name + ".lqa.h5";
        std::filesystem::copy_file(base, target, std::filesystem::copy_options::overwrite_existing);
        const lqmut::Id file(H5Fopen(target.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
        if (!file.ok() || !edit(file)) {
            std::fprintf(stderr, "make_packed_seeds: cannot craft %s\n", target.c_str());
            return 1;
        }
        std::printf("%s\n", target.c_str());
    }
    std::filesystem::remove(base);
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> adapters;
    std::string out;
    bool bad = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "-o" && i + 1 < argc)
            out = argv[++i];
        else if (arg == "--bad")
            bad = true;
        else
            adapters.push_back(arg);
    }
    if (out.empty() || adapters.empty() || (bad && adapters.size() != 1)) {
        std::fprintf(stderr, "usage: make_packed_seeds ADAPTER... -o DIR\n"
                             "       make_packed_seeds --bad ADAPTER -o DIR\n");
        return 2;
    }
    if (bad) {
        try {
            return writeBad(adapters[0], out);
        } catch (const lq::Error& e) {
            std::fprintf(stderr, "make_packed_seeds: %s\n", e.what());
            return 1;
        }
    }

    struct Variant
    {
        const char* name;
        lq::QuantSettings settings;
    };
    std::vector<Variant> variants;
    variants.push_back({"default", lq::QuantSettings{}});
    variants.push_back({"paper-exact-b3", lq::QuantSettings::paperExact(0.8, 3, false)});
    lq::QuantSettings odd;
    odd.split = lq::SplitRule::Fixed;
    odd.fixedH = 1;
    odd.bitsHigh = 5;
    odd.groupSize = 5;
    variants.push_back({"fixed1-b5-g5", odd});
    lq::QuantSettings wide = odd;
    wide.bitsHigh = 8;
    wide.groupSize = 3;
    wide.layout = lq::GroupLayout::Flattened;
    variants.push_back({"fixed1-b8-g3-flat", wide});

    try {
        for (const std::string& path : adapters) {
            const lq::Adapter adapter = lq::Adapter::load(path);
            const std::string stem = std::filesystem::path(path).filename().string();
            for (const Variant& variant : variants) {
                const lq::QuantResult result = lq::quantizeAdapter(adapter, variant.settings);
                const std::string target = out + "/" + stem + "-" + variant.name + ".lqa.h5";
                lq::exportPackedAdapter(target, adapter, result);
                std::printf("%s\n", target.c_str());
            }
        }
    } catch (const lq::Error& e) {
        std::fprintf(stderr, "make_packed_seeds: %s\n", e.what());
        return 1;
    }
    return 0;
}
