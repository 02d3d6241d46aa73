<?php

return [
    // The database store is shared by every task: `queue:restart` and the scheduler's overlap
    // locks must be seen by all of them, which a per-container file cache would not be.
    'default' => env('CACHE_DRIVER', 'database'),

    'stores' => [
        'array' => ['driver' => 'array', 'serialize' => false],

        'database' => [
            'driver' => 'database',
            'table' => 'cache',
            'connection' => null,
            'lock_connection' => null,
        ],

        'file' => [
            'driver' => 'file',
            'path' => storage_path('framework/cache/data'),
        ],
    ],

    'prefix' => env('CACHE_PREFIX', 'example_cache'),
];
