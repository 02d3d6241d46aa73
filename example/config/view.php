<?php

return [
    'paths' => [resource_path('views')],

    // Compiled by `php artisan view:cache` at image build time (images/prod/php-fpm.Dockerfile).
    'compiled' => env('VIEW_COMPILED_PATH', realpath(storage_path('framework/views'))),
];
