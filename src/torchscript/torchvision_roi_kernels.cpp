// CPU kernels of torchvision's box operators (nms, roi_align, roi_pool, ps_roi_align,
// ps_roi_pool), written from the semantics torchvision.ops documents. Computed in
// double, results in the input's floating type.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "modelexport/torchvision_ops.h"

namespace modelexport {
namespace {

void checkRois(const char* op, const at::Tensor& input, const at::Tensor& rois) {
  TORCH_CHECK(input.dim() == 4, "torchvision::", op, ": input must be [N, C, H, W], got ", input.dim(), " dims");
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 5, "torchvision::", op,
              ": rois must be [K, 5] (batch index, x1, y1, x2, y2), got ", rois.sizes());
  TORCH_CHECK(at::isFloatingType(input.scalar_type()), "torchvision::", op, ": input must be floating point");
}

// One image plane (H x W doubles) and the bilinear sample RoIAlign takes: a point more
// than one pixel outside reads 0, a point within one pixel of the border is clamped onto it.
struct Plane {
  const double* data;
  int64_t height, width;

  double at(int64_t y, int64_t x) const { return data[y * width + x]; }

  double bilinear(double y, double x) const {
    if (y < -1.0 || y > static_cast<double>(height) || x < -1.0 || x > static_cast<double>(width)) return 0.0;
    y = std::max(y, 0.0);
    x = std::max(x, 0.0);
    int64_t y0 = static_cast<int64_t>(y), x0 = static_cast<int64_t>(x), y1, x1;
    if (y0 >= height - 1) {
      y0 = y1 = height - 1;
      y = static_cast<double>(y0);
    } else {
      y1 = y0 + 1;
    }
    if (x0 >= width - 1) {
      x0 = x1 = width - 1;
      x = static_cast<double>(x0);
    } else {
      x1 = x0 + 1;
    }
    const double ly = y - static_cast<double>(y0), lx = x - static_cast<double>(x0);
    const double hy = 1.0 - ly, hx = 1.0 - lx;
    return hy * hx * at(y0, x0) + hy * lx * at(y0, x1) + ly * hx * at(y1, x0) + ly * lx * at(y1, x1);
  }
};

// The feature map as doubles, and the planes of one image.
struct FeatureMap {
  at::Tensor values;
  int64_t batch, channels, height, width;

  explicit FeatureMap(const at::Tensor& input)
      : values(input.to(at::kDouble).contiguous()),
        batch(input.size(0)),
        channels(input.size(1)),
        height(input.size(2)),
        width(input.size(3)) {}

  Plane plane(int64_t image, int64_t channel) const {
    return {values.data_ptr<double>() + (image * channels + channel) * height * width, height, width};
  }
};

struct Roi {
  int64_t image;
  double x1, y1, x2, y2;
};

Roi roiAt(const at::Tensor& rois, int64_t k, int64_t batch, const char* op) {
  const double* r = rois.data_ptr<double>() + k * 5;
  const auto image = static_cast<int64_t>(r[0]);
  TORCH_CHECK(image >= 0 && image < batch, "torchvision::", op, ": roi ", k, " names batch index ", image,
              " of a batch of ", batch);
  return {image, r[1], r[2], r[3], r[4]};
}

// The average of a grid of bilinear samples over each bin of a region starting at
// (startY, startX), with bins of binH x binW; `channelOf(c, i, j)` picks the input channel.
template <typename ChannelOf>
void averageBins(const FeatureMap& map, int64_t image, double startY, double startX, double binH, double binW,
                 int64_t gridH, int64_t gridW, int64_t outChannels, int64_t pooledH, int64_t pooledW,
                 ChannelOf channelOf, double* out) {
  const double count = static_cast<double>(std::max<int64_t>(gridH * gridW, 1));
  for (int64_t c = 0; c < outChannels; ++c)
    for (int64_t i = 0; i < pooledH; ++i)
      for (int64_t j = 0; j < pooledW; ++j) {
        const Plane plane = map.plane(image, channelOf(c, i, j));
        double sum = 0.0;
        for (int64_t iy = 0; iy < gridH; ++iy) {
          const double y = startY + static_cast<double>(i) * binH + (static_cast<double>(iy) + 0.5) * binH / static_cast<double>(gridH);
          for (int64_t ix = 0; ix < gridW; ++ix) {
            const double x = startX + static_cast<double>(j) * binW + (static_cast<double>(ix) + 0.5) * binW / static_cast<double>(gridW);
            sum += plane.bilinear(y, x);
          }
        }
        out[(c * pooledH + i) * pooledW + j] = sum / count;
      }
}

// Samples per bin side: the given ratio, else as many as the bin is pixels high (wide), rounded up.
int64_t gridSize(int64_t samplingRatio, double roiSize, int64_t pooled) {
  return samplingRatio > 0 ? samplingRatio : static_cast<int64_t>(std::ceil(roiSize / static_cast<double>(pooled)));
}

// Integer bin bounds of roi_pool / ps_roi_pool: [floor(k * bin), ceil((k + 1) * bin)) from
// the rounded roi start, clipped to the map.
std::pair<int64_t, int64_t> quantizedBin(int64_t k, double bin, int64_t start, int64_t limit) {
  const auto lo = static_cast<int64_t>(std::floor(static_cast<double>(k) * bin)) + start;
  const auto hi = static_cast<int64_t>(std::ceil(static_cast<double>(k + 1) * bin)) + start;
  return {std::clamp<int64_t>(lo, 0, limit), std::clamp<int64_t>(hi, 0, limit)};
}

int64_t roundedCoordinate(double x, double scale) { return static_cast<int64_t>(std::round(x * scale)); }

}  // namespace

at::Tensor torchvisionNms(const at::Tensor& dets, const at::Tensor& scores, double iouThreshold) {
  TORCH_CHECK(dets.dim() == 2 && dets.size(1) == 4, "torchvision::nms: boxes must be [N, 4], got ", dets.sizes());
  TORCH_CHECK(scores.dim() == 1 && scores.size(0) == dets.size(0),
              "torchvision::nms: scores must be [N] for ", dets.size(0), " boxes, got ", scores.sizes());
  const int64_t n = dets.size(0);
  const at::Tensor boxes = dets.to(at::kDouble).contiguous();
  const at::Tensor score = scores.to(at::kDouble).contiguous();
  const double* b = boxes.data_ptr<double>();
  const double* s = score.data_ptr<double>();
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [s](int64_t i, int64_t j) { return s[i] > s[j]; });
  auto area = [b](int64_t i) { return (b[i * 4 + 2] - b[i * 4]) * (b[i * 4 + 3] - b[i * 4 + 1]); };
  std::vector<char> dropped(static_cast<size_t>(n), 0);
  std::vector<int64_t> kept;
  for (size_t a = 0; a < order.size(); ++a) {
    const int64_t i = order[a];
    if (dropped[static_cast<size_t>(i)]) continue;
    kept.push_back(i);
    for (size_t c = a + 1; c < order.size(); ++c) {
      const int64_t j = order[c];
      if (dropped[static_cast<size_t>(j)]) continue;
      const double w = std::max(0.0, std::min(b[i * 4 + 2], b[j * 4 + 2]) - std::max(b[i * 4], b[j * 4]));
      const double h = std::max(0.0, std::min(b[i * 4 + 3], b[j * 4 + 3]) - std::max(b[i * 4 + 1], b[j * 4 + 1]));
      const double inter = w * h;
      if (inter / (area(i) + area(j) - inter) > iouThreshold) dropped[static_cast<size_t>(j)] = 1;
    }
  }
  return at::tensor(kept, at::TensorOptions().dtype(at::kLong));
}

at::Tensor torchvisionRoiAlign(const at::Tensor& input, const at::Tensor& rois, double spatialScale,
                               int64_t pooledHeight, int64_t pooledWidth, int64_t samplingRatio, bool aligned) {
  checkRois("roi_align", input, rois);
  const FeatureMap map(input);
  const at::Tensor r = rois.to(at::kDouble).contiguous();
  const int64_t k = rois.size(0);
  at::Tensor out = at::zeros({k, map.channels, pooledHeight, pooledWidth}, at::kDouble);
  // aligned: pixel centers at half-integers (shift by half a pixel); otherwise a region is
  // at least one pixel on each side.
  const double shift = aligned ? 0.5 : 0.0;
  for (int64_t n = 0; n < k; ++n) {
    const Roi roi = roiAt(r, n, map.batch, "roi_align");
    const double startX = roi.x1 * spatialScale - shift, startY = roi.y1 * spatialScale - shift;
    double roiW = roi.x2 * spatialScale - shift - startX, roiH = roi.y2 * spatialScale - shift - startY;
    if (!aligned) {
      roiW = std::max(roiW, 1.0);
      roiH = std::max(roiH, 1.0);
    }
    averageBins(map, roi.image, startY, startX, roiH / static_cast<double>(pooledHeight),
                roiW / static_cast<double>(pooledWidth), gridSize(samplingRatio, roiH, pooledHeight),
                gridSize(samplingRatio, roiW, pooledWidth), map.channels, pooledHeight, pooledWidth,
                [](int64_t c, int64_t, int64_t) { return c; },
                out.data_ptr<double>() + n * map.channels * pooledHeight * pooledWidth);
  }
  return out.to(input.scalar_type());
}

std::tuple<at::Tensor, at::Tensor> torchvisionPsRoiAlign(const at::Tensor& input, const at::Tensor& rois,
                                                         double spatialScale, int64_t pooledHeight,
                                                         int64_t pooledWidth, int64_t samplingRatio) {
  checkRois("ps_roi_align", input, rois);
  const FeatureMap map(input);
  const int64_t bins = pooledHeight * pooledWidth;
  TORCH_CHECK(bins > 0 && map.channels % bins == 0, "torchvision::ps_roi_align: input channels (", map.channels,
              ") must be a multiple of pooled_height * pooled_width (", bins, ")");
  const int64_t outChannels = map.channels / bins;
  const at::Tensor r = rois.to(at::kDouble).contiguous();
  const int64_t k = rois.size(0);
  at::Tensor out = at::zeros({k, outChannels, pooledHeight, pooledWidth}, at::kDouble);
  auto channelOf = [pooledHeight, pooledWidth](int64_t c, int64_t i, int64_t j) {
    return (c * pooledHeight + i) * pooledWidth + j;
  };
  for (int64_t n = 0; n < k; ++n) {
    const Roi roi = roiAt(r, n, map.batch, "ps_roi_align");
    // Always on half-pixel centers, with no minimum region size.
    const double startX = roi.x1 * spatialScale - 0.5, startY = roi.y1 * spatialScale - 0.5;
    const double roiW = roi.x2 * spatialScale - 0.5 - startX, roiH = roi.y2 * spatialScale - 0.5 - startY;
    averageBins(map, roi.image, startY, startX, roiH / static_cast<double>(pooledHeight),
                roiW / static_cast<double>(pooledWidth), gridSize(samplingRatio, roiH, pooledHeight),
                gridSize(samplingRatio, roiW, pooledWidth), outChannels, pooledHeight, pooledWidth, channelOf,
                out.data_ptr<double>() + n * outChannels * bins);
  }
  at::Tensor mapping = at::arange(outChannels * bins, at::kInt).view({1, outChannels, pooledHeight, pooledWidth});
  return {out.to(input.scalar_type()), mapping.expand({k, outChannels, pooledHeight, pooledWidth}).contiguous()};
}

std::tuple<at::Tensor, at::Tensor> torchvisionRoiPool(const at::Tensor& input, const at::Tensor& rois,
                                                      double spatialScale, int64_t pooledHeight, int64_t pooledWidth) {
  checkRois("roi_pool", input, rois);
  const FeatureMap map(input);
  const at::Tensor r = rois.to(at::kDouble).contiguous();
  const int64_t k = rois.size(0);
  at::Tensor out = at::zeros({k, map.channels, pooledHeight, pooledWidth}, at::kDouble);
  at::Tensor argmax = at::full({k, map.channels, pooledHeight, pooledWidth}, -1, at::kInt);
  double* o = out.data_ptr<double>();
  int32_t* a = argmax.data_ptr<int32_t>();
  for (int64_t n = 0; n < k; ++n) {
    const Roi roi = roiAt(r, n, map.batch, "roi_pool");
    const int64_t x1 = roundedCoordinate(roi.x1, spatialScale), y1 = roundedCoordinate(roi.y1, spatialScale);
    const int64_t x2 = roundedCoordinate(roi.x2, spatialScale), y2 = roundedCoordinate(roi.y2, spatialScale);
    // Both end pixels belong to the region.
    const double binH = static_cast<double>(std::max<int64_t>(y2 - y1 + 1, 1)) / static_cast<double>(pooledHeight);
    const double binW = static_cast<double>(std::max<int64_t>(x2 - x1 + 1, 1)) / static_cast<double>(pooledWidth);
    for (int64_t c = 0; c < map.channels; ++c) {
      const Plane plane = map.plane(roi.image, c);
      for (int64_t i = 0; i < pooledHeight; ++i) {
        const auto [h0, h1] = quantizedBin(i, binH, y1, map.height);
        for (int64_t j = 0; j < pooledWidth; ++j) {
          const auto [w0, w1] = quantizedBin(j, binW, x1, map.width);
          const int64_t at = ((n * map.channels + c) * pooledHeight + i) * pooledWidth + j;
          if (h1 <= h0 || w1 <= w0) continue;  // an empty bin is 0
          double best = -std::numeric_limits<double>::infinity();
          for (int64_t y = h0; y < h1; ++y)
            for (int64_t x = w0; x < w1; ++x)
              if (plane.at(y, x) > best) {
                best = plane.at(y, x);
                a[at] = static_cast<int32_t>(y * map.width + x);
              }
          o[at] = best;
        }
      }
    }
  }
  return {out.to(input.scalar_type()), argmax};
}

std::tuple<at::Tensor, at::Tensor> torchvisionPsRoiPool(const at::Tensor& input, const at::Tensor& rois,
                                                        double spatialScale, int64_t pooledHeight,
                                                        int64_t pooledWidth) {
  checkRois("ps_roi_pool", input, rois);
  const FeatureMap map(input);
  const int64_t bins = pooledHeight * pooledWidth;
  TORCH_CHECK(bins > 0 && map.channels % bins == 0, "torchvision::ps_roi_pool: input channels (", map.channels,
              ") must be a multiple of pooled_height * pooled_width (", bins, ")");
  const int64_t outChannels = map.channels / bins;
  const at::Tensor r = rois.to(at::kDouble).contiguous();
  const int64_t k = rois.size(0);
  at::Tensor out = at::zeros({k, outChannels, pooledHeight, pooledWidth}, at::kDouble);
  double* o = out.data_ptr<double>();
  for (int64_t n = 0; n < k; ++n) {
    const Roi roi = roiAt(r, n, map.batch, "ps_roi_pool");
    const int64_t x1 = roundedCoordinate(roi.x1, spatialScale), y1 = roundedCoordinate(roi.y1, spatialScale);
    const int64_t x2 = roundedCoordinate(roi.x2, spatialScale), y2 = roundedCoordinate(roi.y2, spatialScale);
    // Unlike roi_pool, the end pixel is not counted in the region's size.
    const double binH = static_cast<double>(std::max<int64_t>(y2 - y1, 1)) / static_cast<double>(pooledHeight);
    const double binW = static_cast<double>(std::max<int64_t>(x2 - x1, 1)) / static_cast<double>(pooledWidth);
    for (int64_t c = 0; c < outChannels; ++c)
      for (int64_t i = 0; i < pooledHeight; ++i) {
        const auto [h0, h1] = quantizedBin(i, binH, y1, map.height);
        for (int64_t j = 0; j < pooledWidth; ++j) {
          const auto [w0, w1] = quantizedBin(j, binW, x1, map.width);
          if (h1 <= h0 || w1 <= w0) continue;
          const Plane plane = map.plane(roi.image, (c * pooledHeight + i) * pooledWidth + j);
          double sum = 0.0;
          for (int64_t y = h0; y < h1; ++y)
            for (int64_t x = w0; x < w1; ++x) sum += plane.at(y, x);
          o[((n * outChannels + c) * pooledHeight + i) * pooledWidth + j] =
              sum / static_cast<double>((h1 - h0) * (w1 - w0));
        }
      }
  }
  at::Tensor mapping = at::arange(outChannels * bins, at::kInt).view({1, outChannels, pooledHeight, pooledWidth});
  return {out.to(input.scalar_type()), mapping.expand({k, outChannels, pooledHeight, pooledWidth}).contiguous()};
}

}  // namespace modelexport
