<?php

declare(strict_types=1);

namespace App\Http\Controllers;

use App\Application;
use App\Http\Response;

/** Load balancer target groups and smoke checks hit this; it must stay cheap and dependency-free. */
final class HealthController
{
    public function __construct(private readonly Application $app)
    {
    }

    public function show(): Response
    {
        return new Response(200, "ok\n", [
            'Content-Type' => 'text/plain; charset=utf-8',
            'Cache-Control' => 'no-store',
        ]);
    }
}
