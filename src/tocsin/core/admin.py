from django.contrib import admin

admin.site.site_header = "Tocsin administration"
admin.site.site_title = "Tocsin admin"
admin.site.index_title = "Configuration"
