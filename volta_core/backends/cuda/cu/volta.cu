// Volta's CUDA kernels: one source, compiled once per process (PyCUDA SourceModule,
// cached on disk) with -fmad=false, so every float result is the IEEE operation the
// CPU backend performs, in the same order (no contraction into fused multiply-adds).
//
// Determinism: no kernel here uses atomics except scatter_add_atomic (balanced mode
// only); every reduction is a fixed shared-memory tree over a block size that is a
// function of the shapes alone, so the same inputs give the same bits on every run.
//
// Index metadata ("meta") lives in device memory as int64 arrays written once when a
// plan is prepared. Broadcast layout: [rank, shape[rank], strides_0[rank], ...].
#include <stdint.h>
#include <type_traits>

typedef long long i64;
typedef unsigned char u8;  // numpy bool: one byte, 0 or 1

#define GRID_STRIDE(i, n) \
  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)blockDim.x * gridDim.x)

// off[k] = offset in input k of output element i (meta: [rank, shape, strides_0, ..., strides_{nin-1}])
__device__ __forceinline__ void bcast_offsets_n(i64 i, const i64* __restrict__ meta, int nin, i64* off) {
  const int rank = (int)meta[0];
  for (int k = 0; k < nin; ++k) off[k] = 0;
  for (int d = rank - 1; d >= 0; --d) {
    const i64 s = meta[1 + d];
    const i64 q = i / s;
    const i64 r = i - q * s;
    i = q;
    for (int k = 0; k < nin; ++k) off[k] += r * meta[1 + rank * (k + 1) + d];
  }
}

// the same with the input count known at compile time (inlined, so the inner loops unroll)
template <int NIN>
__device__ __forceinline__ void bcast_offsets(i64 i, const i64* __restrict__ meta, i64* off) {
  bcast_offsets_n(i, meta, NIN, off);
}

template <typename T> __device__ __forceinline__ bool is_nan(T x) {
  if constexpr (std::is_floating_point<T>::value) return x != x; else return false;
}
// numpy's maximum/minimum: NaN wins, otherwise the larger (smaller) one; ties keep the first.
template <typename T> __device__ __forceinline__ T np_max(T a, T b) { return (a >= b || is_nan(a)) ? a : b; }
template <typename T> __device__ __forceinline__ T np_min(T a, T b) { return (a <= b || is_nan(a)) ? a : b; }
template <typename T> __device__ __forceinline__ T lowest() {
  if constexpr (std::is_same<T, float>::value) return -__int_as_float(0x7f800000);
  else if constexpr (std::is_same<T, double>::value) return -__longlong_as_double(0x7ff0000000000000LL);
  else if constexpr (std::is_same<T, int>::value) return (int)0x80000000;
  else return (i64)0x8000000000000000LL;
}

// ------------------------------------------------------------------ unary
enum { U_COPY, U_NEG, U_SQRT, U_EXP, U_LOG, U_ABS, U_SIGN, U_ERF, U_RELU, U_LEAKY, U_SIGMOID,
       U_TANH, U_GELU, U_GELU_TANH, U_SILU, U_POW };

template <typename T> __device__ __forceinline__ T sigmoid_(T x) {
  // (1 + tanh(x / 2)) / 2, step by step as the CPU backend computes it
  T t = x * T(0.5);
  t = tanh(t);
  t = t * T(0.5);
  return t + T(0.5);
}

template <typename T> __device__ __forceinline__ T unary_op(int op, T x, double p) {
  switch (op) {
    case U_COPY: return x;
    case U_NEG: return -x;
    case U_ABS: return x < T(0) ? -x : x;
    case U_SIGN: return x > T(0) ? T(1) : (x < T(0) ? T(-1) : (x == T(0) ? T(0) : x));
    default: break;
  }
  if constexpr (std::is_floating_point<T>::value) {
    switch (op) {
      case U_SQRT: return sqrt(x);
      case U_EXP: return exp(x);
      case U_LOG: return log(x);
      case U_ERF: return (T)erf((double)x);
      case U_RELU: return np_max(x, T(0));
      case U_LEAKY: {
        const T a = (T)p;
        const T o = x * a;
        return p <= 1.0 ? np_max(x, o) : np_min(x, o);
      }
      case U_SIGMOID: return sigmoid_(x);
      case U_TANH: return tanh(x);
      case U_GELU: {
        T e = (T)erf((double)(x / (T)1.4142135623730951));
        e = e + T(1);
        e = e * x;
        return e * T(0.5);
      }
      case U_GELU_TANH: {
        T s = x * x;
        s = s * x;
        s = s * (T)0.044715;
        s = s + x;
        s = s * (T)0.7978845608028654;
        s = tanh(s);
        s = s + T(1);
        s = s * x;
        return s * T(0.5);
      }
      case U_SILU: return sigmoid_(x) * x;
      case U_POW: {
        if (p == 2.0) return x * x;
        if (p == 1.0) return x;
        if (p == 0.5) return sqrt(x);
        if (p == -1.0) return T(1) / x;
        return pow(x, (T)p);
      }
      default: break;
    }
  }
  return x;
}

template <typename T>
__device__ void unary_body(int op, double p, i64 n, const T* __restrict__ a, T* __restrict__ out) {
  GRID_STRIDE(i, n) out[i] = unary_op<T>(op, a[i], p);
}

// ----------------------------------------------------------------- binary
enum { B_ADD, B_SUB, B_MUL, B_DIV, B_AXPY, B_SQDIFF };

template <typename T> __device__ __forceinline__ T binary_op(int op, T a, T b, double p) {
  switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_AXPY: { const T s = b * (T)p; return a + s; }
    default: { const T d = a - b; return d * d; }
  }
}

template <typename T>
__device__ void binary_body(int op, double p, i64 n, const T* __restrict__ a, const T* __restrict__ b,
                            T* out, const i64* __restrict__ meta) {
  if (meta == nullptr) {
    GRID_STRIDE(i, n) out[i] = binary_op<T>(op, a[i], b[i], p);
  } else {
    GRID_STRIDE(i, n) {
      i64 off[2];
      bcast_offsets<2>(i, meta, off);
      out[i] = binary_op<T>(op, a[off[0]], b[off[1]], p);
    }
  }
}

enum { C_LT, C_GT, C_EQ };
template <typename T>
__device__ void compare_body(int op, i64 n, const T* __restrict__ a, const T* __restrict__ b, u8* __restrict__ out,
                             const i64* __restrict__ meta) {
  GRID_STRIDE(i, n) {
    i64 off[2] = {i, i};
    if (meta != nullptr) bcast_offsets<2>(i, meta, off);
    const T x = a[off[0]], y = b[off[1]];
    out[i] = (u8)(op == C_LT ? x < y : (op == C_GT ? x > y : x == y));
  }
}

// where and strided copies move bits: one kernel per element size
template <typename E>
__device__ void where_body(i64 n, const u8* __restrict__ c, const E* __restrict__ a, const E* __restrict__ b,
                           E* __restrict__ out, const i64* __restrict__ meta) {
  GRID_STRIDE(i, n) {
    i64 off[3] = {i, i, i};
    if (meta != nullptr) bcast_offsets<3>(i, meta, off);
    out[i] = c[off[0]] ? a[off[1]] : b[off[2]];
  }
}

// meta: [rank, shape, src_strides, dst_strides]; base offsets are folded into the pointers
template <typename E>
__device__ void copy_body(i64 n, const E* __restrict__ src, E* __restrict__ dst, const i64* __restrict__ meta) {
  GRID_STRIDE(i, n) {
    i64 off[2];
    bcast_offsets<2>(i, meta, off);
    dst[off[1]] = src[off[0]];
  }
}

template <typename D, typename S> __device__ __forceinline__ D convert(S x) {
  if constexpr (std::is_same<D, u8>::value) return (u8)(x != S(0));
  else return (D)x;
}
template <typename S, typename D>
__device__ void cast_body(i64 n, const S* __restrict__ a, D* __restrict__ out) {
  GRID_STRIDE(i, n) out[i] = convert<D, S>(a[i]);
}

// ------------------------------------------------------------- reductions
enum { R_SUM, R_MEAN, R_MAX };

template <typename T> __device__ __forceinline__ T combine(int op, T a, T b) {
  return op == R_MAX ? np_max(a, b) : a + b;
}

__device__ __forceinline__ i64 strided_offset(i64 i, int rank, const i64* __restrict__ shape,
                                              const i64* __restrict__ strides) {
  i64 off = 0;
  for (int d = rank - 1; d >= 0; --d) {
    const i64 q = i / shape[d];
    off += (i - q * shape[d]) * strides[d];
    i = q;
  }
  return off;
}

// Fixed tree over blockDim.x (a power of two) in shared memory; the result is in sm[0].
template <typename T> __device__ __forceinline__ T block_tree(int op, T v, T* sm) {
  sm[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sm[threadIdx.x] = combine(op, sm[threadIdx.x], sm[threadIdx.x + s]);
    __syncthreads();
  }
  const T r = sm[0];
  __syncthreads();
  return r;
}

// meta: [nk, keep_shape[nk], keep_strides[nk], nr, red_shape[nr], red_strides[nr]]; one block per output
template <typename T>
__device__ void reduce_body(int op, i64 n_out, i64 count, const T* __restrict__ in, T* __restrict__ out,
                            const i64* __restrict__ meta, T* sm) {
  const int nk = (int)meta[0];
  const i64* kshape = meta + 1;
  const i64* kstr = kshape + nk;
  const int nr = (int)meta[1 + 2 * nk];
  const i64* rshape = meta + 2 + 2 * nk;
  const i64* rstr = rshape + nr;
  for (i64 o = blockIdx.x; o < n_out; o += gridDim.x) {
    const i64 base = strided_offset(o, nk, kshape, kstr);
    T acc = op == R_MAX ? lowest<T>() : T(0);
    for (i64 r = threadIdx.x; r < count; r += blockDim.x) acc = combine(op, acc, in[base + strided_offset(r, nr, rshape, rstr)]);
    acc = block_tree(op, acc, sm);
    if (threadIdx.x == 0) {
      if (op == R_MEAN) {
        if constexpr (std::is_floating_point<T>::value) acc = (T)((double)acc / (double)count);
        else acc = acc / (T)count;
      }
      out[o] = acc;
    }
  }
}

// softmax / log_softmax along an axis: rows = outer * inner, element j of row r at
// (r / inner) * n * inner + r % inner + j * inner. One block per row.
template <typename T>
__device__ void softmax_body(int log_, i64 rows, i64 n, i64 inner, const T* __restrict__ x, T* __restrict__ out, T* sm) {
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const i64 base = (r / inner) * n * inner + r % inner;
    T m = lowest<T>();
    for (i64 j = threadIdx.x; j < n; j += blockDim.x) m = np_max(m, x[base + j * inner]);
    m = block_tree(R_MAX, m, sm);
    T s = T(0);
    for (i64 j = threadIdx.x; j < n; j += blockDim.x) {
      const T e = exp(x[base + j * inner] - m);
      if (!log_) out[base + j * inner] = e;
      s = s + e;
    }
    s = block_tree(R_SUM, s, sm);
    if (log_) {
      const T ls = log(s);
      for (i64 j = threadIdx.x; j < n; j += blockDim.x) {
        const T sh = x[base + j * inner] - m;
        out[base + j * inner] = sh - ls;
      }
    } else {
      for (i64 j = threadIdx.x; j < n; j += blockDim.x) out[base + j * inner] = out[base + j * inner] / s;
    }
  }
}

// softmax cross-entropy, per row: log(sum(exp(x - max))) - (x[t] - max); the mean is a reduce_mean after.
template <typename T, typename I>
__device__ void sce_rows_body(i64 n, i64 c, const T* __restrict__ x, const I* __restrict__ tgt, T* __restrict__ rows,
                              int* err, T* sm) {
  for (i64 r = blockIdx.x; r < n; r += gridDim.x) {
    const T* row = x + r * c;
    T m = lowest<T>();
    for (i64 j = threadIdx.x; j < c; j += blockDim.x) m = np_max(m, row[j]);
    m = block_tree(R_MAX, m, sm);
    T s = T(0);
    for (i64 j = threadIdx.x; j < c; j += blockDim.x) s = s + exp(row[j] - m);
    s = block_tree(R_SUM, s, sm);
    if (threadIdx.x == 0) {
      i64 t = (i64)tgt[r];
      if (t < 0) t += c;
      if (t < 0 || t >= c) { *err = 1; t = 0; }
      const T picked = row[t] - m;
      rows[r] = log(s) - picked;
    }
  }
}

// layernorm over the last axis (scale and shift are [d]): one block per row.
template <typename T>
__device__ void layernorm_body(i64 rows, i64 d, T eps, const T* __restrict__ x, const T* __restrict__ scale,
                               const T* __restrict__ shift, T* __restrict__ out, T* sm) {
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * d;
    T* orow = out + r * d;
    T s = T(0);
    for (i64 j = threadIdx.x; j < d; j += blockDim.x) s = s + xr[j];
    s = block_tree(R_SUM, s, sm);
    const T mean = (T)((double)s / (double)d);
    T q = T(0);
    for (i64 j = threadIdx.x; j < d; j += blockDim.x) {
      const T c = xr[j] - mean;
      q = q + c * c;
    }
    q = block_tree(R_SUM, q, sm);
    T var = (T)((double)q / (double)d);
    var = var + eps;
    var = sqrt(var);
    for (i64 j = threadIdx.x; j < d; j += blockDim.x) {
      T v = xr[j] - mean;
      v = v / var;
      v = v * scale[j];
      orow[j] = v + shift[j];
    }
  }
}

// ---------------------------------------------------------- index ops
// Element i of a [lead, nidx, trail] layout: its lead, index position and trailing column.
struct IndexPos { i64 l, p, t; };
__device__ __forceinline__ IndexPos index_pos(i64 i, i64 nidx, i64 trail) {
  const i64 q = i / trail;
  return {q / nidx, q % nidx, i - q * trail};
}

// idx[p] as a row in [0, size) (negative counts from the end, as in NumPy), or -1 when out of range.
template <typename I> __device__ __forceinline__ i64 row_of(const I* __restrict__ idx, i64 p, i64 size) {
  i64 j = (i64)idx[p];
  if (j < 0) j += size;
  return (j < 0 || j >= size) ? -1 : j;
}

// gather: data [lead, size, trail], idx flat [nidx], out [lead, nidx, trail]
template <typename E, typename I>
__device__ void gather_body(i64 n, i64 nidx, i64 size, i64 trail, const E* __restrict__ data, const I* __restrict__ idx,
                            E* __restrict__ out, int* err) {
  GRID_STRIDE(i, n) {
    const IndexPos at = index_pos(i, nidx, trail);
    const i64 j = row_of(idx, at.p, size);
    if (j < 0) { *err = 2; out[i] = E(0); continue; }
    out[i] = data[(at.l * size + j) * trail + at.t];
  }
}

// scatter_add, deterministic: thread (l, jb, t) owns out rows [jlo, jhi) at column t and adds the
// source values in increasing index position -- the order np.add.at uses. out must be zeroed first.
template <typename T, typename I>
__device__ void scatter_add_body(i64 lead, i64 nidx, i64 size, i64 trail, i64 jblocks, const T* __restrict__ src,
                                 const I* __restrict__ idx, T* __restrict__ out, int* err) {
  GRID_STRIDE(w, lead * jblocks * trail) {
    const i64 t = w % trail;
    const i64 q = w / trail;
    const i64 jb = q % jblocks;
    const i64 l = q / jblocks;
    const i64 jlo = jb * size / jblocks, jhi = (jb + 1) * size / jblocks;
    for (i64 p = 0; p < nidx; ++p) {
      const i64 j = row_of(idx, p, size);
      if (j < 0) { if (jb == 0) *err = 3; continue; }
      if (j >= jlo && j < jhi) {
        T* o = out + (l * size + j) * trail + t;
        *o = *o + src[(l * nidx + p) * trail + t];
      }
    }
  }
}

// balanced mode only: one atomic add per source value (order, hence rounding, may vary run to run)
template <typename T, typename I>
__device__ void scatter_add_atomic_body(i64 n, i64 nidx, i64 size, i64 trail, const T* __restrict__ src,
                                        const I* __restrict__ idx, T* __restrict__ out, int* err) {
  GRID_STRIDE(i, n) {
    const IndexPos at = index_pos(i, nidx, trail);
    const i64 j = row_of(idx, at.p, size);
    if (j < 0) { *err = 3; continue; }
    atomicAdd(out + (at.l * size + j) * trail + at.t, src[i]);
  }
}

template <typename I, typename D>
__device__ void one_hot_body(i64 n, i64 depth, const I* __restrict__ idx, D* __restrict__ out) {
  GRID_STRIDE(i, n) out[i] = (D)((i64)idx[i / depth] == i % depth);
}

// seeded dropout: x * mask, then * scale (the mask is made on the host, exactly as the CPU backend's)
template <typename T>
__device__ void dropout_body(i64 n, const T* __restrict__ x, const u8* __restrict__ mask, T scale, T* __restrict__ out) {
  GRID_STRIDE(i, n) {
    T o = x[i] * (mask[i] ? T(1) : T(0));
    out[i] = o * scale;
  }
}

// fused elementwise: prog = [op, a, b] per step (a/b: input index, -1 = running value);
// ops: 0..15 unary codes as above, 100 + binary code.
template <typename T>
__device__ void fused_body(int nsteps, const int* __restrict__ prog, const double* __restrict__ params, int nin,
                           const unsigned long long* __restrict__ ptrs, i64 n, T* __restrict__ out,
                           const i64* __restrict__ meta) {
  GRID_STRIDE(i, n) {
    i64 off[8];
    if (meta != nullptr) bcast_offsets_n(i, meta, nin, off);
    else for (int k = 0; k < nin; ++k) off[k] = i;
    T acc = T(0);
    for (int s = 0; s < nsteps; ++s) {
      const int op = prog[3 * s], a = prog[3 * s + 1], b = prog[3 * s + 2];
      const T x = a < 0 ? acc : ((const T*)ptrs[a])[off[a]];
      if (op >= 100) {
        const T y = b < 0 ? acc : ((const T*)ptrs[b])[off[b]];
        acc = binary_op<T>(op - 100, x, y, 0.0);
      } else {
        acc = unary_op<T>(op, x, params[s]);
      }
    }
    out[i] = acc;
  }
}


// ------------------------------------------------------------ images (NCHW)
// Window meta (int64, from launch.window_meta): [N, C, H, W, kH, kW, Ho, Wo, sH, sW, dH, dW, top, left,
// bottom, right]. Window (oh, ow) reads input (oh*sH - top + a*dH, ow*sW - left + b*dW) at tap (a, b).
struct Win { i64 N, C, H, W, kh, kw, Ho, Wo, sh, sw, dh, dw, top, left, bottom, right; };
__device__ __forceinline__ Win load_win(const i64* __restrict__ m) {
  return {m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[9], m[10], m[11], m[12], m[13], m[14], m[15]};
}
// Decodes element i of an [N, C, rows, cols] array.
struct Pos4 { i64 n, c, h, w; };
__device__ __forceinline__ Pos4 pos4(i64 i, i64 C, i64 rows, i64 cols) {
  const i64 w = i % cols; i64 q = i / cols;
  const i64 h = q % rows; q /= rows;
  return {q / C, q % C, h, w};
}
// The window index along one axis that reads input index `in` at tap `t`, or -1.
__device__ __forceinline__ i64 window_of(i64 in, i64 t, i64 stride, i64 dil, i64 before, i64 n_out) {
  const i64 num = in + before - t * dil;
  if (num < 0 || num % stride) return -1;
  const i64 o = num / stride;
  return o < n_out ? o : -1;
}
// Tap (a, b) of window (oh, ow) of one [H, W] plane, `fill` where it reads padding.
template <typename T>
__device__ __forceinline__ T tap_value(const T* __restrict__ plane, const Win& w, i64 oh, i64 ow, i64 a, i64 b, T fill) {
  const i64 ih = oh * w.sh - w.top + a * w.dh, iw = ow * w.sw - w.left + b * w.dw;
  return (ih >= 0 && ih < w.H && iw >= 0 && iw < w.W) ? plane[ih * w.W + iw] : fill;
}

// im2col: columns [C, kH, kW, N, Ho, Wo] (channels first: one GEMM covers the batch), 0 where a tap is padding.
template <typename T>
__device__ void im2col_body(i64 n, const T* __restrict__ x, T* __restrict__ cols, const i64* __restrict__ meta) {
  const Win w = load_win(meta);
  GRID_STRIDE(i, n) {
    const i64 ow = i % w.Wo; i64 q = i / w.Wo;
    const i64 oh = q % w.Ho; q /= w.Ho;
    const i64 b = q % w.N; q /= w.N;  // b: the sample here; the taps follow
    const i64 tb = q % w.kw; q /= w.kw;
    const i64 ta = q % w.kh;
    const i64 c = q / w.kh;
    cols[i] = tap_value<T>(x + (b * w.C + c) * w.H * w.W, w, oh, ow, ta, tb, T(0));
  }
}

// col2im (conv_transpose2d, conv2d's input gradient): y [N, C, H, W] gathers its taps from columns
// [C, kH, kW, N, Ho, Wo] in row-major tap order, then adds the bias: the CPU backend's order, no atomics.
template <typename T>
__device__ void col2im_body(i64 n, const T* __restrict__ cols, const T* __restrict__ bias, T* __restrict__ y,
                            const i64* __restrict__ meta) {
  const Win w = load_win(meta);
  const i64 plane = w.N * w.Ho * w.Wo;
  GRID_STRIDE(i, n) {
    const Pos4 p = pos4(i, w.C, w.H, w.W);
    T acc = T(0);
    for (i64 a = 0; a < w.kh; ++a) {
      const i64 oh = window_of(p.h, a, w.sh, w.dh, w.top, w.Ho);
      if (oh < 0) continue;
      for (i64 b = 0; b < w.kw; ++b) {
        const i64 ow = window_of(p.w, b, w.sw, w.dw, w.left, w.Wo);
        if (ow < 0) continue;
        acc = acc + cols[((p.c * w.kh + a) * w.kw + b) * plane + (p.n * w.Ho + oh) * w.Wo + ow];
      }
    }
    if (bias != nullptr) acc = acc + bias[p.c];
    y[i] = acc;
  }
}

// max over a window, padding -inf (np.maximum's NaN propagation), taps in row-major order
template <typename T> __device__ __forceinline__ T window_max(const T* __restrict__ plane, const Win& w, i64 oh, i64 ow) {
  T m = tap_value<T>(plane, w, oh, ow, 0, 0, lowest<T>());
  for (i64 t = 1; t < w.kh * w.kw; ++t) m = np_max(m, tap_value<T>(plane, w, oh, ow, t / w.kw, t % w.kw, lowest<T>()));
  return m;
}
// the window's first maximum: its first tap not below the max (with a NaN, the max is NaN: tap 0)
template <typename T> __device__ __forceinline__ i64 first_max(const T* __restrict__ plane, const Win& w, i64 oh, i64 ow) {
  const T m = window_max<T>(plane, w, oh, ow);
  for (i64 t = 0; t < w.kh * w.kw; ++t)
    if (!(tap_value<T>(plane, w, oh, ow, t / w.kw, t % w.kw, lowest<T>()) < m)) return t;
  return w.kh * w.kw - 1;
}

template <typename T>
__device__ void maxpool_body(i64 n, const T* __restrict__ x, T* __restrict__ y, const i64* __restrict__ meta) {
  const Win w = load_win(meta);
  GRID_STRIDE(i, n) {
    const Pos4 p = pos4(i, w.C, w.Ho, w.Wo);
    y[i] = window_max<T>(x + (p.n * w.C + p.c) * w.H * w.W, w, p.h, p.w);
  }
}

// dx of max_pool2d: each input element gathers g of the windows whose first maximum it is, in tap order
template <typename T>
__device__ void maxpool_grad_body(i64 n, const T* __restrict__ x, const T* __restrict__ g, T* __restrict__ dx,
                                  const i64* __restrict__ meta) {
  const Win w = load_win(meta);
  GRID_STRIDE(i, n) {
    const Pos4 p = pos4(i, w.C, w.H, w.W);
    const i64 base = p.n * w.C + p.c;
    const T* plane = x + base * w.H * w.W;
    T acc = T(0);
    for (i64 a = 0; a < w.kh; ++a) {
      const i64 oh = window_of(p.h, a, w.sh, w.dh, w.top, w.Ho);
      if (oh < 0) continue;
      for (i64 b = 0; b < w.kw; ++b) {
        const i64 ow = window_of(p.w, b, w.sw, w.dw, w.left, w.Wo);
        if (ow >= 0 && first_max<T>(plane, w, oh, ow) == a * w.kw + b) acc = acc + g[(base * w.Ho + oh) * w.Wo + ow];
      }
    }
    dx[i] = acc;
  }
}

// v read at each window's first maximum of x (0 where that tap is padding)
template <typename T>
__device__ void maxpool_select_body(i64 n, const T* __restrict__ x, const T* __restrict__ v, T* __restrict__ y,
                                    const i64* __restrict__ meta) {
  const Win w = load_win(meta);
  GRID_STRIDE(i, n) {
    const Pos4 p = pos4(i, w.C, w.Ho, w.Wo);
    const i64 off = (p.n * w.C + p.c) * w.H * w.W;
    const i64 t = first_max<T>(x + off, w, p.h, p.w);
    y[i] = tap_value<T>(v + off, w, p.h, p.w, t / w.kw, t % w.kw, T(0));
  }
}

// avg_pool2d's divisor (PyTorch's): the window clipped to the padded input, or to the input itself
__device__ __forceinline__ i64 pool_count(const Win& w, i64 oh, i64 ow, int include_pad) {
  const i64 hs = oh * w.sh - w.top, ws = ow * w.sw - w.left;
  const i64 he = min(hs + w.kh, w.H + w.bottom), we = min(ws + w.kw, w.W + w.right);
  if (include_pad) return (he - hs) * (we - ws);
  return (min(he, w.H) - max(hs, (i64)0)) * (min(we, w.W) - max(ws, (i64)0));
}

template <typename T>
__device__ void avgpool_body(i64 n, int include_pad, const T* __restrict__ x, T* __restrict__ y,
                             const i64* __restrict__ meta) {
  const Win w = load_win(meta);
  GRID_STRIDE(i, n) {
    const Pos4 p = pos4(i, w.C, w.Ho, w.Wo);
    const T* plane = x + (p.n * w.C + p.c) * w.H * w.W;
    T s = tap_value<T>(plane, w, p.h, p.w, 0, 0, T(0));
    for (i64 t = 1; t < w.kh * w.kw; ++t) s = s + tap_value<T>(plane, w, p.h, p.w, t / w.kw, t % w.kw, T(0));
    y[i] = s / (T)pool_count(w, p.h, p.w, include_pad);
  }
}

template <typename T>
__device__ void avgpool_grad_body(i64 n, int include_pad, const T* __restrict__ g, T* __restrict__ dx,
                                  const i64* __restrict__ meta) {
  const Win w = load_win(meta);
  GRID_STRIDE(i, n) {
    const Pos4 p = pos4(i, w.C, w.H, w.W);
    const i64 base = p.n * w.C + p.c;
    T acc = T(0);
    for (i64 a = 0; a < w.kh; ++a) {
      const i64 oh = window_of(p.h, a, w.sh, 1, w.top, w.Ho);
      if (oh < 0) continue;
      for (i64 b = 0; b < w.kw; ++b) {
        const i64 ow = window_of(p.w, b, w.sw, 1, w.left, w.Wo);
        if (ow < 0) continue;
        const T share = g[(base * w.Ho + oh) * w.Wo + ow] / (T)pool_count(w, oh, ow, include_pad);
        acc = acc + share;
      }
    }
    dx[i] = acc;
  }
}

// moments of x [N, C, inner] per channel (one block per channel, fixed trees): out = [mean[C], var[C]]
template <typename T>
__device__ void moments_body(i64 C, i64 N, i64 inner, const T* __restrict__ x, T* __restrict__ out, T* sm) {
  const i64 count = N * inner;
  for (i64 c = blockIdx.x; c < C; c += gridDim.x) {
    T s = T(0);
    for (i64 k = threadIdx.x; k < count; k += blockDim.x) s = s + x[((k / inner) * C + c) * inner + k % inner];
    s = block_tree(R_SUM, s, sm);
    const T mean = (T)((double)s / (double)count);
    T q = T(0);
    for (i64 k = threadIdx.x; k < count; k += blockDim.x) {
      const T d = x[((k / inner) * C + c) * inner + k % inner] - mean;
      q = q + d * d;
    }
    q = block_tree(R_SUM, q, sm);
    if (threadIdx.x == 0) {
      out[c] = mean;
      out[C + c] = (T)((double)q / (double)count);
    }
  }
}

// batchnorm as the CPU backend (and PyTorch's CPU kernel) computes it: y = x * alpha + beta with
// alpha = scale / sqrt(var + eps), beta = shift - mean * alpha, step by step
template <typename T>
__device__ void batchnorm_body(i64 n, i64 C, i64 inner, T eps, const T* __restrict__ x, const T* __restrict__ scale,
                               const T* __restrict__ shift, const T* __restrict__ mean, const T* __restrict__ var,
                               T* __restrict__ y) {
  GRID_STRIDE(i, n) {
    const i64 c = (i / inner) % C;
    T alpha = var[c] + eps;
    alpha = sqrt(alpha);
    alpha = T(1) / alpha;
    alpha = alpha * scale[c];
    T beta = mean[c] * alpha;
    beta = shift[c] - beta;
    const T v = x[i] * alpha;
    y[i] = v + beta;
  }
}

// pad (meta: [rank, out_shape, in_shape, before]); modes 0 constant, 1 reflect (edge not repeated), 2 edge
template <typename T>
__device__ void pad_body(i64 n, int mode, double value, const T* __restrict__ x, T* __restrict__ y,
                         const i64* __restrict__ meta) {
  const int rank = (int)meta[0];
  const i64* oshape = meta + 1;
  const i64* ishape = oshape + rank;
  const i64* before = ishape + rank;
  GRID_STRIDE(i, n) {
    i64 q = i, src = 0, stride = 1;
    bool inside = true;
    for (int d = rank - 1; d >= 0; --d) {
      i64 k = q % oshape[d] - before[d];
      q /= oshape[d];
      const i64 size = ishape[d];
      if (k < 0 || k >= size) {
        if (mode == 0) inside = false;
        else if (mode == 1) k = k < 0 ? -k : 2 * size - 2 - k;
        else k = k < 0 ? 0 : size - 1;
      }
      src += k * stride;
      stride *= size;
    }
    y[i] = inside ? x[src] : (T)value;
  }
}

// One axis of pad's adjoint, in place on a copy of g: every element of the region (earlier axes
// still padded, this axis and later ones already folded) adds the border elements that copied it.
// meta: [rank, region_shape, strides, offset, axis, before, after, size]; modes as pad's (1 or 2).
template <typename T>
__device__ void pad_fold_body(i64 n, int mode, T* buf, const i64* __restrict__ meta) {
  const int rank = (int)meta[0];
  const i64* shape = meta + 1;
  const i64* strides = shape + rank;
  const i64 offset = strides[rank], axis = strides[rank + 1], lo = strides[rank + 2], hi = strides[rank + 3];
  const i64 size = strides[rank + 4], sa = strides[axis];
  GRID_STRIDE(i, n) {
    i64 q = i, off = offset, j = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const i64 k = q % shape[d];
      q /= shape[d];
      off += k * strides[d];
      if (d == axis) j = k;
    }
    T v = buf[off];
    if (mode == 1) {
      if (j >= 1 && j <= lo) v = v + buf[off - 2 * j * sa];
      if (j >= size - 1 - hi && j <= size - 2) v = v + buf[off + (2 * size - 2 - 2 * j) * sa];
    } else {
      if (j == 0 && lo) {
        T s = T(0);
        for (i64 k = lo; k >= 1; --k) s = s + buf[off - k * sa];
        v = v + s;
      }
      if (j == size - 1 && hi) {
        T s = T(0);
        for (i64 k = 1; k <= hi; ++k) s = s + buf[off + k * sa];
        v = v + s;
      }
    }
    buf[off] = v;
  }
}

// ------------------------------------------------------------ optimizers
// One launch per parameter tensor. Each line is one float32 operation of the CPU
// optimizer (volta_core/train/optim.py), in the same order, so updates are bitwise equal.
__device__ __forceinline__ float decayed(float g, float p, float wd, int has_wd) {
  if (!has_wd) return g;
  const float a = p * wd;
  return g + a;
}

extern "C" __global__ void opt_sgd(i64 n, float* p, const float* __restrict__ g, float wd, int has_wd, float neg_lr) {
  GRID_STRIDE(i, n) {
    const float gg = decayed(g[i], p[i], wd, has_wd);
    const float b = gg * neg_lr;
    p[i] = p[i] + b;
  }
}

extern "C" __global__ void opt_momentum(i64 n, float* p, const float* __restrict__ g, float* buf, float wd, int has_wd,
                                        float momentum, int first, float neg_lr) {
  GRID_STRIDE(i, n) {
    const float gg = decayed(g[i], p[i], wd, has_wd);
    float m;
    if (first) m = gg;
    else { m = buf[i] * momentum; m = m + gg; }
    buf[i] = m;
    const float b = m * neg_lr;
    p[i] = p[i] + b;
  }
}

extern "C" __global__ void opt_adam(i64 n, float* p, const float* __restrict__ g, float* m, float* v, float wd,
                                    int has_wd, float decay, int has_decay, float omb1, float b2, float omb2,
                                    float eps_c, float neg_step_c) {
  GRID_STRIDE(i, n) {
    float pi = p[i];
    if (has_decay) pi = pi * decay;
    const float gg = decayed(g[i], pi, wd, has_wd);
    float b = gg - m[i];
    b = b * omb1;
    const float mi = m[i] + b;
    m[i] = mi;
    float vi = v[i] * b2;
    b = gg * omb2;
    b = b * gg;
    vi = vi + b;
    v[i] = vi;
    b = sqrt(vi);  // constants from Optimizer.adam_scalars
    b = b + eps_c;
    b = mi / b;
    b = b * neg_step_c;
    p[i] = pi + b;
  }
}

extern "C" __global__ void opt_rmsprop(i64 n, float* p, const float* __restrict__ g, float* sq, float* buf, float wd,
                                       int has_wd, float alpha, float oma, float eps, float momentum, int has_momentum,
                                       float neg_lr) {
  GRID_STRIDE(i, n) {
    const float gg = decayed(g[i], p[i], wd, has_wd);
    float s = sq[i] * alpha;
    float b = gg * gg;
    b = b * oma;
    s = s + b;
    sq[i] = s;
    b = sqrt(s);
    b = b + eps;
    b = gg / b;
    if (has_momentum) {
      float m = buf[i] * momentum;
      m = m + b;
      buf[i] = m;
      b = m * neg_lr;
    } else {
      b = b * neg_lr;
    }
    p[i] = p[i] + b;
  }
}

extern "C" __global__ void opt_adagrad(i64 n, float* p, const float* __restrict__ g, float* acc, float wd, int has_wd,
                                       float eps, float neg_lr) {
  GRID_STRIDE(i, n) {
    const float gg = decayed(g[i], p[i], wd, has_wd);
    float b = gg * gg;
    const float s = acc[i] + b;
    acc[i] = s;
    b = sqrt(s);
    b = b + eps;
    b = gg / b;
    b = b * neg_lr;
    p[i] = p[i] + b;
  }
}

// gradient clipping without a host round trip: per-tensor sum of squares (one block, fixed tree),
// then one thread forms the coefficient, then every gradient is scaled by it.
extern "C" __global__ void clip_sumsq(i64 n, const float* __restrict__ x, float* slot) {
  __shared__ float sm[256];
  float acc = 0.0f;
  for (i64 i = threadIdx.x; i < n; i += blockDim.x) acc = acc + x[i] * x[i];
  acc = block_tree(R_SUM, acc, sm);
  if (threadIdx.x == 0) *slot = sqrt(acc);
}

extern "C" __global__ void clip_coef(int k, float* norms, float max_norm) {
  if (threadIdx.x == 0 && blockIdx.x == 0) {
    float s = 0.0f;
    for (int i = 0; i < k; ++i) s = s + norms[i] * norms[i];
    const float total = sqrt(s);
    float coef = max_norm / (total + 1e-6f);
    if (coef > 1.0f) coef = 1.0f;
    norms[k] = coef;
    norms[k + 1] = total;
  }
}

extern "C" __global__ void clip_scale(i64 n, float* g, const float* __restrict__ coef) {
  const float c = *coef;
  GRID_STRIDE(i, n) g[i] = g[i] * c;
}

// a row-major tiled SGEMM (C = A @ B, A [m,k], B [k,n]); kept to compare against cuBLAS
// (benchmarks/bench_cuda.py), not used by the executor.
extern "C" __global__ void sgemm_tiled(int m, int n, int k, const float* __restrict__ A, const float* __restrict__ B,
                                       float* __restrict__ C) {
  __shared__ float As[32][33];
  __shared__ float Bs[32][33];
  const int row = blockIdx.y * 32 + threadIdx.y, col = blockIdx.x * 32 + threadIdx.x;
  float acc = 0.0f;
  for (int t = 0; t < k; t += 32) {
    As[threadIdx.y][threadIdx.x] = (row < m && t + threadIdx.x < k) ? A[(i64)row * k + t + threadIdx.x] : 0.0f;
    Bs[threadIdx.y][threadIdx.x] = (col < n && t + threadIdx.y < k) ? B[(i64)(t + threadIdx.y) * n + col] : 0.0f;
    __syncthreads();
#pragma unroll
    for (int q = 0; q < 32; ++q) acc = acc + As[threadIdx.y][q] * Bs[q][threadIdx.x];
    __syncthreads();
  }
  if (row < m && col < n) C[(i64)row * n + col] = acc;
}

// ------------------------------------------------- extern "C" instances
#define FLOATS(X) X(f32, float) X(f64, double)
#define NUMS(X) X(f32, float) X(f64, double) X(i32, int) X(i64, i64)
#define ALL(X) NUMS(X) X(bool, u8)
#define INDEX(X) X(i32, int) X(i64, i64)

#define UNARY(s, T) extern "C" __global__ void unary_##s(int op, double p, i64 n, const T* a, T* out) { \
  unary_body<T>(op, p, n, a, out); }
NUMS(UNARY)
#define BINARY(s, T) extern "C" __global__ void binary_##s(int op, double p, i64 n, const T* a, const T* b, T* out, \
  const i64* meta) { binary_body<T>(op, p, n, a, b, out, meta); }
NUMS(BINARY)
#define COMPARE(s, T) extern "C" __global__ void compare_##s(int op, i64 n, const T* a, const T* b, u8* out, \
  const i64* meta) { compare_body<T>(op, n, a, b, out, meta); }
ALL(COMPARE)
#define SIZED(X) X(1, u8) X(4, unsigned int) X(8, unsigned long long)
#define WHERE(s, E) extern "C" __global__ void where_##s(i64 n, const u8* c, const E* a, const E* b, E* out, \
  const i64* meta) { where_body<E>(n, c, a, b, out, meta); }
SIZED(WHERE)
#define COPY(s, E) extern "C" __global__ void copy_##s(i64 n, const E* src, E* dst, const i64* meta) { \
  copy_body<E>(n, src, dst, meta); }
SIZED(COPY)
#define CAST_TO(ds, D, ss, S) extern "C" __global__ void cast_##ss##_##ds(i64 n, const S* a, D* out) { \
  cast_body<S, D>(n, a, out); }
#define CAST_FROM(ss, S) CAST_TO(f32, float, ss, S) CAST_TO(f64, double, ss, S) CAST_TO(i32, int, ss, S) \
  CAST_TO(i64, i64, ss, S) CAST_TO(bool, u8, ss, S)
ALL(CAST_FROM)
#define REDUCE(s, T) extern "C" __global__ void reduce_##s(int op, i64 n_out, i64 count, const T* in, T* out, \
  const i64* meta) { extern __shared__ __align__(8) unsigned char smem[]; \
  reduce_body<T>(op, n_out, count, in, out, meta, reinterpret_cast<T*>(smem)); }
NUMS(REDUCE)
#define SOFTMAX(s, T) extern "C" __global__ void softmax_##s(int log_, i64 rows, i64 n, i64 inner, const T* x, T* out) { \
  extern __shared__ __align__(8) unsigned char smem[]; softmax_body<T>(log_, rows, n, inner, x, out, reinterpret_cast<T*>(smem)); }
FLOATS(SOFTMAX)
#define LAYERNORM(s, T) extern "C" __global__ void layernorm_##s(i64 rows, i64 d, T eps, const T* x, const T* scale, \
  const T* shift, T* out) { extern __shared__ __align__(8) unsigned char smem[]; \
  layernorm_body<T>(rows, d, eps, x, scale, shift, out, reinterpret_cast<T*>(smem)); }
FLOATS(LAYERNORM)
#define DROPOUT(s, T) extern "C" __global__ void dropout_##s(i64 n, const T* x, const u8* mask, T scale, T* out) { \
  dropout_body<T>(n, x, mask, scale, out); }
FLOATS(DROPOUT)
#define FUSED(s, T) extern "C" __global__ void fused_##s(int nsteps, const int* prog, const double* params, int nin, \
  const unsigned long long* ptrs, i64 n, T* out, const i64* meta) { fused_body<T>(nsteps, prog, params, nin, ptrs, n, out, meta); }
FLOATS(FUSED)

#define SCE(ts, T, is, I) extern "C" __global__ void sce_rows_##ts##_##is(i64 n, i64 c, const T* x, const I* tgt, T* rows, \
  int* err) { extern __shared__ __align__(8) unsigned char smem[]; sce_rows_body<T, I>(n, c, x, tgt, rows, err, reinterpret_cast<T*>(smem)); }
#define SCATTER(ts, T, is, I) \
  extern "C" __global__ void scatter_add_##ts##_##is(i64 lead, i64 nidx, i64 size, i64 trail, i64 jblocks, const T* src, \
    const I* idx, T* out, int* err) { scatter_add_body<T, I>(lead, nidx, size, trail, jblocks, src, idx, out, err); } \
  extern "C" __global__ void scatter_add_atomic_##ts##_##is(i64 n, i64 nidx, i64 size, i64 trail, const T* src, \
    const I* idx, T* out, int* err) { scatter_add_atomic_body<T, I>(n, nidx, size, trail, src, idx, out, err); }
#define FLOAT_INDEX(M) M(f32, float, i32, int) M(f32, float, i64, i64) M(f64, double, i32, int) M(f64, double, i64, i64)
FLOAT_INDEX(SCE)
FLOAT_INDEX(SCATTER)
#define GATHER(es, E, is, I) extern "C" __global__ void gather_##es##_##is(i64 n, i64 nidx, i64 size, i64 trail, \
  const E* data, const I* idx, E* out, int* err) { gather_body<E, I>(n, nidx, size, trail, data, idx, out, err); }
#define GATHER_SIZED(M) M(1, u8, i32, int) M(1, u8, i64, i64) M(4, unsigned int, i32, int) M(4, unsigned int, i64, i64) \
  M(8, unsigned long long, i32, int) M(8, unsigned long long, i64, i64)
GATHER_SIZED(GATHER)
#define ONE_HOT_TO(ds, D, is, I) extern "C" __global__ void one_hot_##is##_##ds(i64 n, i64 depth, const I* idx, D* out) { \
  one_hot_body<I, D>(n, depth, idx, out); }
#define ONE_HOT_FROM(is, I) ONE_HOT_TO(f32, float, is, I) ONE_HOT_TO(f64, double, is, I) ONE_HOT_TO(i32, int, is, I) \
  ONE_HOT_TO(i64, i64, is, I) ONE_HOT_TO(bool, u8, is, I)
INDEX(ONE_HOT_FROM)

#define IMAGES(s, T) \
  extern "C" __global__ void im2col_##s(i64 n, const T* x, T* cols, const i64* meta) { im2col_body<T>(n, x, cols, meta); } \
  extern "C" __global__ void col2im_##s(i64 n, const T* cols, const T* bias, T* y, const i64* meta) { \
    col2im_body<T>(n, cols, bias, y, meta); } \
  extern "C" __global__ void maxpool_##s(i64 n, const T* x, T* y, const i64* meta) { maxpool_body<T>(n, x, y, meta); } \
  extern "C" __global__ void maxpool_grad_##s(i64 n, const T* x, const T* g, T* dx, const i64* meta) { \
    maxpool_grad_body<T>(n, x, g, dx, meta); } \
  extern "C" __global__ void maxpool_select_##s(i64 n, const T* x, const T* v, T* y, const i64* meta) { \
    maxpool_select_body<T>(n, x, v, y, meta); } \
  extern "C" __global__ void avgpool_##s(i64 n, int include_pad, const T* x, T* y, const i64* meta) { \
    avgpool_body<T>(n, include_pad, x, y, meta); } \
  extern "C" __global__ void avgpool_grad_##s(i64 n, int include_pad, const T* g, T* dx, const i64* meta) { \
    avgpool_grad_body<T>(n, include_pad, g, dx, meta); } \
  extern "C" __global__ void moments_##s(i64 C, i64 N, i64 inner, const T* x, T* out) { \
    extern __shared__ __align__(8) unsigned char smem[]; moments_body<T>(C, N, inner, x, out, reinterpret_cast<T*>(smem)); } \
  extern "C" __global__ void batchnorm_##s(i64 n, i64 C, i64 inner, T eps, const T* x, const T* scale, const T* shift, \
    const T* mean, const T* var, T* y) { batchnorm_body<T>(n, C, inner, eps, x, scale, shift, mean, var, y); } \
  extern "C" __global__ void pad_##s(i64 n, int mode, double value, const T* x, T* y, const i64* meta) { \
    pad_body<T>(n, mode, value, x, y, meta); } \
  extern "C" __global__ void pad_fold_##s(i64 n, int mode, T* buf, const i64* meta) { pad_fold_body<T>(n, mode, buf, meta); }
FLOATS(IMAGES)
