<?php

use Monolog\Formatter\LineFormatter;
use Monolog\Handler\StreamHandler;

return [
    // stderr: the container's log, where `docker logs` and the ECS log driver read it. No file
    // under storage/logs grows inside a container nobody looks into.
    'default' => env('LOG_CHANNEL', 'stderr'),

    'channels' => [
        'stderr' => [
            'driver' => 'monolog',
            'level' => env('LOG_LEVEL', 'debug'),
            'handler' => StreamHandler::class,
            'formatter' => LineFormatter::class,
            'with' => ['stream' => 'php://stderr'],
        ],

        'null' => [
            'driver' => 'monolog',
            'handler' => Monolog\Handler\NullHandler::class,
        ],
    ],
];
