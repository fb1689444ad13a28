// The few OpenBLAS / LAPACK entry points SpQRCore uses, declared here so that the build does not
// depend on where Debian's alternatives put cblas.h. Symbols come from libopenblas (libopenblas-dev).
#ifndef SPQR_COPENBLAS_SHIM_H
#define SPQR_COPENBLAS_SHIM_H

enum SPQR_CBLAS_ORDER { SpQRCblasRowMajor = 101, SpQRCblasColMajor = 102 };
enum SPQR_CBLAS_TRANSPOSE { SpQRCblasNoTrans = 111, SpQRCblasTrans = 112 };
enum SPQR_CBLAS_UPLO { SpQRCblasUpper = 121, SpQRCblasLower = 122 };

void cblas_sgemm(int order, int transA, int transB, int m, int n, int k,
                 float alpha, const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc);
void cblas_ssyrk(int order, int uplo, int trans, int n, int k, float alpha, const float *a, int lda,
                 float beta, float *c, int ldc);

// LAPACK (Fortran calling convention, column-major).
void spotrf_(const char *uplo, const int *n, float *a, const int *lda, int *info);
void strtri_(const char *uplo, const char *diag, const int *n, float *a, const int *lda, int *info);

void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

#endif
