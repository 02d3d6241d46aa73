# Base production php-fpm image: the development image plus the dependency tree, and nothing from
# the app's own source. It is rebuilt only when composer.json/lock, this file or the development
# image change, so source changes never re-ship vendor/ (images/prod/php-fpm.Dockerfile).
#
# Context: the repository root (see /.dockerignore), with build/vendor.tar made by vendor:archive:
# vendor/, composer.json and composer.lock, owned by root with fixed modes and mtimes.
ARG DEV_IMAGE=local_example_php_fpm:latest

# ADD auto-extracts a local tar, but extracted files keep the archive's owners (root here) and
# --chown does not apply to them, while `RUN chown -R` afterwards would copy the whole vendor tree
# into a second layer and double the image. So extract in a throwaway stage and COPY --chown the
# result: one layer, every file owned by www-data, as the article's images are.
FROM ${DEV_IMAGE} AS vendor
ADD build/vendor.tar /vendor/

FROM ${DEV_IMAGE}
COPY --from=vendor --chown=www-data:www-data /vendor/ /var/www/example/
