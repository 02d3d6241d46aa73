# Base production php-fpm image: the development image plus the dependency tree, and nothing from
# the app's own source. It is rebuilt only when composer.json/lock, this file or the development
# image change, so source changes never re-ship vendor/ (images/prod/php-fpm.Dockerfile). vendor/
# holds Laravel itself: composer installed it from the Debian packages the lock names.
#
# Context: build/base/, which holds only vendor.tar, made by vendor:archive: vendor/, composer.json
# and composer.lock, owned by root with fixed modes and mtimes. Nothing else is sent to the daemon.
ARG DEV_IMAGE=local_example_php_fpm:latest

# ADD auto-extracts a local tar into a throwaway stage, and COPY takes the result in one layer.
# Owned by root, not by the pool user (www-data): code a php-fpm worker can rewrite is code an
# attacker who gets one can rewrite. Only storage/ and bootstrap/cache are the pool user's.
FROM ${DEV_IMAGE} AS vendor
ADD vendor.tar /vendor/

FROM ${DEV_IMAGE}
COPY --from=vendor /vendor/ /var/www/example/
# Every service run from this image (php-fpm, queue worker, scheduler, the migration task) caches
# Laravel's config from its own environment when it starts: see images/php-fpm/laravel-entrypoint.
ENTRYPOINT ["laravel-entrypoint"]
CMD ["php-fpm8.2", "--nodaemonize"]
