<?php

namespace App\Exceptions;

use Illuminate\Foundation\Exceptions\Handler as ExceptionHandler;

/** Laravel's handler as is: reports to the log channel (stderr), renders per APP_DEBUG. */
class Handler extends ExceptionHandler
{
    /** @var array<int, string> */
    protected $dontFlash = ['password', 'password_confirmation'];
}
