<?php

namespace App\Models;

use Illuminate\Database\Eloquent\Model;

class Visit extends Model
{
    protected $fillable = ['path', 'note'];

    protected $casts = ['processed_at' => 'datetime'];
}
