<?php

declare(strict_types=1);

use App\Http\Controllers\HealthController;
use App\Http\Controllers\HomeController;

return [
    '/' => [HomeController::class, 'index'],
    '/health' => [HealthController::class, 'show'],
];
