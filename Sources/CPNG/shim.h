// libpng (Debian libpng-dev) for writing heatmaps and plots as PNG files. libpng reports errors through
// a longjmp that Swift cannot catch, so encoding and decoding run here in C: each returns 0 on success, or
// writes libpng's message into `message` and returns -1. Encoding goes to memory, so the caller writes
// the file atomically and a failure leaves none.
#ifndef SPQR_CPNG_SHIM_H
#define SPQR_CPNG_SHIM_H

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void spqr_png_error(png_structp png, png_const_charp msg) {
    char *message = (char *)png_get_error_ptr(png);
    if (message) {
        strncpy(message, msg, 255);
        message[255] = 0;
    }
    png_longjmp(png, 1);
}

static inline void spqr_png_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static inline int spqr_png_write_rgb_stream(FILE *fp, const unsigned char *rgb, unsigned width, unsigned height,
                                     char message[256]) {
    message[0] = 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, message, spqr_png_error, spqr_png_warning);
    if (!png) {
        strcpy(message, "libpng could not start a writer (out of memory)");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        strcpy(message, "libpng could not start a writer (out of memory)");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (unsigned y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(rgb + (size_t)y * width * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

/// Encodes `height` rows of `width` RGB pixels (8 bits each, row-major) as a PNG in memory: on success
/// `*png_bytes` holds `*png_size` bytes (free with free()).
static inline int spqr_png_encode_rgb(const unsigned char *rgb, unsigned width, unsigned height,
                                      char **png_bytes, size_t *png_size, char message[256]) {
    message[0] = 0;
    *png_bytes = NULL;
    *png_size = 0;
    FILE *fp = open_memstream(png_bytes, png_size);
    if (!fp) {
        strcpy(message, "cannot allocate the PNG's buffer");
        return -1;
    }
    int rc = spqr_png_write_rgb_stream(fp, rgb, width, height, message);
    if (fclose(fp) != 0 && rc == 0) {
        strcpy(message, "cannot finish the PNG's buffer");
        rc = -1;
    }
    if (rc != 0) {
        free(*png_bytes);
        *png_bytes = NULL;
        *png_size = 0;
    }
    return rc;
}

/// Reads a PNG file as 8-bit RGB: on success `*rgb` holds width × height × 3 bytes (free with free()).
static inline int spqr_png_read_rgb(const char *path, unsigned char **rgb, unsigned *width, unsigned *height,
                                    char message[256]) {
    message[0] = 0;
    *rgb = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        strcpy(message, "cannot open the file");
        return -1;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, message, spqr_png_error, spqr_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        if (png) png_destroy_read_struct(&png, NULL, NULL);
        fclose(fp);
        strcpy(message, "libpng could not start a reader (out of memory)");
        return -1;
    }
    unsigned char *volatile out = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(fp);
        free(out);
        return -1;
    }
    png_init_io(png, fp);
    png_read_info(png, info);
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_gray_to_rgb(png);
    png_read_update_info(png, info);
    unsigned w = png_get_image_width(png, info);
    unsigned h = png_get_image_height(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3) png_error(png, "not convertible to 8-bit RGB");
    out = (unsigned char *)malloc((size_t)w * h * 3 + 1);
    if (!out) png_error(png, "out of memory");
    for (unsigned y = 0; y < h; y++) png_read_row(png, out + (size_t)y * w * 3, NULL);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(fp);
    *rgb = out;
    *width = w;
    *height = h;
    return 0;
}

#endif
