// make_packed_seeds ADAPTER... -o DIR: writes small packed adapters (.lqa.h5) as seeds for
// fuzz_packed, one per adapter and settings variant (F16 and F32 scales, per-component and
// flattened groups, 1..8 high bits, odd group sizes), through the real quantizer and writer.
// Run by tests/fuzz/make-seeds.py; the seeds are committed.

#include "core/engine/adapterquantizer.h"
#include "core/io/adapter.h"
#include "core/io/error.h"
#include "core/packed/packedfile.h"
#include "core/packed/packedformat.h"

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    std::vector<std::string> adapters;
    std::string out;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "-o" && i + 1 < argc)
            out = argv[++i];
        else
            adapters.push_back(arg);
    }
    if (out.empty() || adapters.empty()) {
        std::fprintf(stderr, "usage: make_packed_seeds ADAPTER... -o DIR\n");
        return 2;
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
